/**
 * The HVM_CONTEXT blob: the hypervisor's HVM save records
 * (`xen/public/hvm/save.h`), each a descriptor — `typecode` (u16),
 * `instance` (u16), `length` (u32, not counting the descriptor) — followed by
 * `length` octets, ending with an END record (typecode 0, length 0).  The
 * first record is a HEADER carrying {@linkcode HVM_FILE_MAGIC}.
 *
 * @module
 */

import { RecordError } from "../errors.ts";
import { HVM_FILE_MAGIC, HVM_SAVE_CODE } from "../xen/constants.ts";

/** `HVM_FILE_MAGIC`, first field of the HEADER save record (Xen ABI constant). */
export { HVM_FILE_MAGIC };

/** Size of `struct hvm_save_descriptor`. */
export const HVM_SAVE_DESCRIPTOR_SIZE = 8;

/**
 * HVM save record typecodes: the ABI's `HVM_SAVE_CODE` plus the two that
 * `arch-x86/hvm/save.h` declares by number (`CPU_XSAVE_CODE`, `CPU_MSR_CODE`).
 */
export const HVM_SAVE_TYPE = { ...HVM_SAVE_CODE, CPU_XSAVE: 16, CPU_MSR: 20 } as const;

/** `HVM_SAVE_CODE_MAX`. */
export const HVM_SAVE_CODE_MAX = 20;

/** Typecode → name. */
export const HVM_SAVE_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(HVM_SAVE_TYPE).map(([k, v]) => [v, k]),
);

/** Size of `struct hvm_save_header`. */
export const HVM_SAVE_HEADER_SIZE = 24;

/** One HVM save record. */
export interface HvmSaveRecord {
  /** `HVM_SAVE_TYPE`. */
  typecode: number;
  /** Instance (vcpu number for per-vcpu records). */
  instance: number;
  /** Offset of the descriptor within the blob. */
  offset: number;
  /** The record's data (a view). */
  data: Uint8Array;
}

/**
 * Splits an HVM context blob into its save records, up to and including the
 * END record.  Throws {@linkcode RecordError} when a descriptor or its data
 * overruns the blob, when END is missing, or when bytes follow END; `offset`
 * is the blob's offset in the input.
 *
 * @example
 * ```ts
 * import { decodeHvmContext, encodeHvmContext } from "./hvm_context.ts";
 * const blob = encodeHvmContext([{ typecode: 1, instance: 0, data: new Uint8Array(24) }]);
 * const recs = decodeHvmContext(blob);
 * console.assert(recs.length === 2 && recs[1].typecode === 0);
 * ```
 */
export function decodeHvmContext(blob: Uint8Array, offset = 0): HvmSaveRecord[] {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: HvmSaveRecord[] = [];
  let at = 0;
  while (true) {
    if (at + HVM_SAVE_DESCRIPTOR_SIZE > blob.length) {
      throw new RecordError(
        `HVM context: no END save record (blob ends at ${blob.length})`,
        offset + at,
      );
    }
    const typecode = v.getUint16(at, true);
    const instance = v.getUint16(at + 2, true);
    const length = v.getUint32(at + 4, true);
    const dataAt = at + HVM_SAVE_DESCRIPTOR_SIZE;
    if (dataAt + length > blob.length) {
      throw new RecordError(
        `HVM context: save record ${
          HVM_SAVE_TYPE_NAMES[typecode] ?? typecode
        } of ${length} bytes ` +
          `overruns the blob by ${dataAt + length - blob.length}`,
        offset + at,
      );
    }
    out.push({ typecode, instance, offset: at, data: blob.subarray(dataAt, dataAt + length) });
    at = dataAt + length;
    if (typecode === HVM_SAVE_TYPE.END) break;
  }
  if (at !== blob.length) {
    throw new RecordError(
      `HVM context: ${blob.length - at} bytes after the END save record`,
      offset + at,
    );
  }
  return out;
}

/**
 * Builds an HVM context blob from save records, appending END.
 *
 * @example
 * ```ts
 * import { encodeHvmContext } from "./hvm_context.ts";
 * console.assert(encodeHvmContext([]).length === 8);
 * ```
 */
export function encodeHvmContext(
  records: readonly { typecode: number; instance: number; data: Uint8Array }[],
): Uint8Array {
  const all = [...records.filter((r) => r.typecode !== HVM_SAVE_TYPE.END), {
    typecode: 0,
    instance: 0,
    data: new Uint8Array(0),
  }];
  const size = all.reduce((n, r) => n + HVM_SAVE_DESCRIPTOR_SIZE + r.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const r of all) {
    v.setUint16(at, r.typecode, true);
    v.setUint16(at + 2, r.instance, true);
    v.setUint32(at + 4, r.data.length, true);
    out.set(r.data, at + HVM_SAVE_DESCRIPTOR_SIZE);
    at += HVM_SAVE_DESCRIPTOR_SIZE + r.data.length;
  }
  return out;
}
