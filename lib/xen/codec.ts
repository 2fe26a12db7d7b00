/**
 * Reading and writing C structs in byte buffers through the
 * {@linkcode LAYOUTS} table, so no offset is written twice.  Internal.
 *
 * @module
 */

import { LAYOUTS, type StructName } from "./layout.ts";

/** A zeroed buffer for `count` consecutive structs of one kind. */
export function structBuffer(name: StructName, count = 1): Uint8Array<ArrayBuffer> {
  return new Uint8Array(LAYOUTS[name].size * count);
}

function field(name: StructName, key: string) {
  const f = (LAYOUTS[name].fields as Record<string, { offset: number; type: string }>)[key];
  if (!f) throw new TypeError(`${name} has no field ${key} in layout.ts`);
  return f;
}

/**
 * Reads a field of struct `index` as a number (u64 fields must be below
 * 2^53, which holds for page counts and pfns).
 */
export function getField(
  buf: Uint8Array,
  name: StructName,
  key: string,
  index = 0,
): number {
  const f = field(name, key);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = index * LAYOUTS[name].size + f.offset;
  switch (f.type) {
    case "u8":
      return dv.getUint8(at);
    case "u16":
      return dv.getUint16(at, true);
    case "u32":
      return dv.getUint32(at, true);
    case "i32":
      return dv.getInt32(at, true);
    default:
      return Number(dv.getBigUint64(at, true));
  }
}

/** Reads a 64-bit field exactly. */
export function getBigField(buf: Uint8Array, name: StructName, key: string, index = 0): bigint {
  const f = field(name, key);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return dv.getBigUint64(index * LAYOUTS[name].size + f.offset, true);
}

/** Writes a field of struct `index`. */
export function setField(
  buf: Uint8Array,
  name: StructName,
  key: string,
  value: number | bigint,
  index = 0,
): void {
  const f = field(name, key);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = index * LAYOUTS[name].size + f.offset;
  switch (f.type) {
    case "u8":
      return dv.setUint8(at, Number(value));
    case "u16":
      return dv.setUint16(at, Number(value), true);
    case "u32":
      return dv.setUint32(at, Number(value), true);
    case "i32":
      return dv.setInt32(at, Number(value), true);
    default:
      return dv.setBigUint64(at, BigInt.asUintN(64, BigInt(value)), true);
  }
}

/** The bytes of a `bytes` field (a copy). */
export function getBytes(buf: Uint8Array, name: StructName, key: string, index = 0): Uint8Array {
  const f = field(name, key) as { offset: number; length?: number };
  const at = index * LAYOUTS[name].size + f.offset;
  return buf.slice(at, at + (f.length ?? 0));
}

/** Writes a `bytes` field (truncating or zero-padding `value`). */
export function setBytes(buf: Uint8Array, name: StructName, key: string, value: Uint8Array): void {
  const f = field(name, key) as { offset: number; length?: number };
  const len = f.length ?? 0;
  buf.fill(0, f.offset, f.offset + len);
  buf.set(value.subarray(0, len), f.offset);
}

/**
 * Packs pfns into a `xen_pfn_t[]` (u64 little-endian) without BigInt.
 * Rejects what is not a pfn, since Xen would read it as a huge one.
 */
export function pfnArray(pfns: ArrayLike<number>): Uint8Array<ArrayBuffer> {
  const out = new Uint32Array(pfns.length * 2);
  packPfns(pfns, 0, pfns.length, out);
  return new Uint8Array(out.buffer);
}

/**
 * {@linkcode pfnArray} into a caller's (reused) buffer: `count` pfns from
 * `pfns[from]` as u32 word pairs at the start of `out`.
 */
export function packPfns(
  pfns: ArrayLike<number>,
  from: number,
  count: number,
  out: Uint32Array,
): void {
  for (let i = 0; i < count; i++) {
    const pfn = pfns[from + i];
    if (!Number.isSafeInteger(pfn) || pfn < 0) {
      throw new RangeError(`pfn ${pfn} at index ${from + i} is not a non-negative safe integer`);
    }
    out[2 * i] = pfn % 0x100000000;
    out[2 * i + 1] = Math.floor(pfn / 0x100000000);
  }
}
