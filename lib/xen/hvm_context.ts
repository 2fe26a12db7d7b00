/**
 * Walking an HVM context blob: a chain of `struct hvm_save_descriptor`
 * {u16 typecode, u16 instance, u32 length} records, HEADER first, END last.
 *
 * @module
 */

import { HVM_FILE_MAGIC, HVM_SAVE_CODE } from "./constants.ts";
import { LAYOUTS } from "./layout.ts";

/** One record of an HVM context blob. */
export interface HvmRecord {
  /** `HVM_SAVE_CODE` of the record. */
  typecode: number;
  /** Instance (vcpu number for per-vcpu records). */
  instance: number;
  /** Payload length in bytes. */
  length: number;
  /** Offset of the payload in the blob. */
  offset: number;
}

/**
 * Splits a blob into records; throws `SyntaxError` naming the offset when
 * it is not HEADER ... END.
 *
 * @example
 * ```ts
 * import { parseHvmContext } from "./hvm_context.ts";
 * const blob = new Uint8Array(8 + 24 + 8);
 * const dv = new DataView(blob.buffer);
 * dv.setUint16(0, 1, true); dv.setUint32(4, 24, true); // HEADER
 * dv.setUint32(8, 0x54381286, true); dv.setUint32(12, 1, true);
 * console.log(parseHvmContext(blob).map((r) => r.typecode)); // [ 1, 0 ]
 * ```
 */
export function parseHvmContext(blob: Uint8Array): HvmRecord[] {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const desc = LAYOUTS.hvm_save_descriptor.size;
  const out: HvmRecord[] = [];
  let at = 0;
  while (at + desc <= blob.length) {
    const r: HvmRecord = {
      typecode: dv.getUint16(at, true),
      instance: dv.getUint16(at + 2, true),
      length: dv.getUint32(at + 4, true),
      offset: at + desc,
    };
    if (r.offset + r.length > blob.length) {
      throw new SyntaxError(
        `HVM record ${r.typecode} at offset ${at} overruns the ${blob.length}-byte blob`,
      );
    }
    if (out.length === 0) {
      if (r.typecode !== HVM_SAVE_CODE.HEADER || r.length !== LAYOUTS.hvm_save_header.size) {
        throw new SyntaxError(`HVM context does not start with a HEADER record`);
      }
      const magic = dv.getUint32(r.offset, true);
      if (magic !== HVM_FILE_MAGIC) {
        throw new SyntaxError(`HVM HEADER magic 0x${magic.toString(16)}`);
      }
    }
    out.push(r);
    at = r.offset + r.length;
    if (r.typecode === HVM_SAVE_CODE.END) {
      if (at !== blob.length) {
        throw new SyntaxError(`${blob.length - at} bytes after the END record`);
      }
      return out;
    }
  }
  throw new SyntaxError("HVM context has no END record");
}
