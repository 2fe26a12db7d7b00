/**
 * The record header shared by libxc and libxl v2 streams: a 32-bit type and a
 * 32-bit body length, both in the stream's byte order (little endian on x86),
 * followed by the body and zero padding to a multiple of 8 octets.
 *
 * @module
 */

/** Size of a record header in octets. */
export const RECORD_HEADER_SIZE = 8;

/** Records are padded to this many octets. */
export const RECORD_ALIGN = 8;

/**
 * Bit 31 of a record type marks an optional record: a restorer may ignore it
 * when not understood (libxc and libxl specs, "Records").
 */
export const REC_TYPE_OPTIONAL = 0x80000000;

/** A decoded record header. */
export interface RecordHeader {
  /** Record type. */
  type: number;
  /** Body length in octets, without padding. */
  length: number;
}

/**
 * Rounds a body length up to the padded size on the wire.
 *
 * @example
 * ```ts
 * import { paddedLength } from "./record_header.ts";
 * console.assert(paddedLength(0) === 0 && paddedLength(1) === 8 && paddedLength(24) === 24);
 * ```
 */
export function paddedLength(length: number): number {
  return Math.ceil(length / RECORD_ALIGN) * RECORD_ALIGN;
}

/**
 * Decodes a record header from the first 8 bytes of `bytes`.
 *
 * @example
 * ```ts
 * import { decodeRecordHeader } from "./record_header.ts";
 * const h = decodeRecordHeader(new Uint8Array([1, 0, 0, 0, 16, 0, 0, 0]));
 * console.assert(h.type === 1 && h.length === 16);
 * ```
 */
export function decodeRecordHeader(bytes: Uint8Array): RecordHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, RECORD_HEADER_SIZE);
  return { type: v.getUint32(0, true), length: v.getUint32(4, true) };
}

/**
 * Encodes a whole record: header, `body`, and zero padding to 8 octets.
 *
 * @example
 * ```ts
 * import { encodeRecord } from "./record_header.ts";
 * const rec = encodeRecord(0x10, new Uint8Array(0));
 * console.assert(rec.length === 8 && rec[0] === 0x10);
 * console.assert(encodeRecord(1, new Uint8Array(3)).length === 16);
 * ```
 */
export function encodeRecord(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_SIZE + paddedLength(body.length));
  writeRecordHeader(out, 0, type, body.length);
  out.set(body, RECORD_HEADER_SIZE);
  return out;
}

/** Writes a record header at `at` in `out`. */
export function writeRecordHeader(out: Uint8Array, at: number, type: number, length: number): void {
  const v = new DataView(out.buffer, out.byteOffset + at, RECORD_HEADER_SIZE);
  v.setUint32(0, type >>> 0, true);
  v.setUint32(4, length >>> 0, true);
}

/** True when every byte of `bytes` is zero (record padding checks). */
export function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
