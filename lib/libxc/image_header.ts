/**
 * The libxc image header: the first 24 octets of a libxc stream, always in
 * network (big-endian) byte order so a reader can find the stream's own
 * byte order from it.
 *
 * ```
 * | marker (u64, all ones)                 |
 * | id "XENF" (u32)  | version (u32)       |
 * | options (u16) | res (u16) | res (u32)  |
 * ```
 *
 * @module
 */

import { IHDR_IDENT, IHDR_MARKER, IHDR_OPT_BIT_ENDIAN, IHDR_SIZE } from "./constants.ts";

/** A decoded image header.  Fields mirror the spec one to one. */
export interface ImageHeader {
  /** Must be {@linkcode IHDR_MARKER}. */
  marker: bigint;
  /** Must be {@linkcode IHDR_IDENT}. */
  id: number;
  /** 2 or 3. */
  version: number;
  /** Bit 0: big endian; other bits reserved. */
  options: number;
  /** Reserved 16 bits. */
  reserved1: number;
  /** Reserved 32 bits. */
  reserved2: number;
}

/**
 * Decodes the 24-byte image header.
 *
 * @example
 * ```ts
 * import { decodeImageHeader, encodeImageHeader } from "./image_header.ts";
 * const h = decodeImageHeader(encodeImageHeader({ version: 3 }));
 * console.assert(h.version === 3 && h.id === 0x58454e46);
 * ```
 */
export function decodeImageHeader(bytes: Uint8Array): ImageHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, IHDR_SIZE);
  return {
    marker: v.getBigUint64(0, false),
    id: v.getUint32(8, false),
    version: v.getUint32(12, false),
    options: v.getUint16(16, false),
    reserved1: v.getUint16(18, false),
    reserved2: v.getUint32(20, false),
  };
}

/**
 * Encodes an image header; unspecified fields take their valid values
 * (marker, XENF, version 3, little endian, zero reserved).
 *
 * @example
 * ```ts
 * import { encodeImageHeader } from "./image_header.ts";
 * const b = encodeImageHeader({});
 * console.assert(b.length === 24 && b[0] === 0xff && b[15] === 3);
 * ```
 */
export function encodeImageHeader(h: Partial<ImageHeader>): Uint8Array {
  const out = new Uint8Array(IHDR_SIZE);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, h.marker ?? IHDR_MARKER, false);
  v.setUint32(8, h.id ?? IHDR_IDENT, false);
  v.setUint32(12, h.version ?? 3, false);
  v.setUint16(16, h.options ?? 0, false);
  v.setUint16(18, h.reserved1 ?? 0, false);
  v.setUint32(20, h.reserved2 ?? 0, false);
  return out;
}

/** Whether the options say big endian (bit {@linkcode IHDR_OPT_BIT_ENDIAN}). */
export function imageIsBigEndian(h: ImageHeader): boolean {
  return ((h.options >> IHDR_OPT_BIT_ENDIAN) & 1) === 1;
}
