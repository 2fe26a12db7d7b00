/**
 * The libxl stream header, 16 octets in network byte order:
 *
 * ```
 * | ident "LibxlFmt" (u64)                |
 * | version (u32)      | options (u32)    |
 * ```
 *
 * @module
 */

import {
  HDR_IDENT,
  HDR_OPT_BIT_ENDIAN,
  HDR_OPT_BIT_LEGACY,
  HDR_SIZE,
  HDR_VERSION,
} from "./constants.ts";

/** A decoded libxl header. */
export interface LibxlHeader {
  /** Must be {@linkcode HDR_IDENT}. */
  ident: bigint;
  /** Must be 2. */
  version: number;
  /** Bit 0: big endian; bit 1: legacy converted; others reserved. */
  options: number;
}

/**
 * Decodes the 16-byte libxl header.
 *
 * @example
 * ```ts
 * import { decodeLibxlHeader, encodeLibxlHeader } from "./header.ts";
 * const h = decodeLibxlHeader(encodeLibxlHeader({ options: 2 }));
 * console.assert(h.version === 2 && h.options === 2);
 * ```
 */
export function decodeLibxlHeader(bytes: Uint8Array): LibxlHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HDR_SIZE);
  return {
    ident: v.getBigUint64(0, false),
    version: v.getUint32(8, false),
    options: v.getUint32(12, false),
  };
}

/**
 * Encodes a libxl header; defaults: LibxlFmt, version 2, little endian.
 *
 * @example
 * ```ts
 * import { encodeLibxlHeader } from "./header.ts";
 * console.assert(new TextDecoder().decode(encodeLibxlHeader({}).subarray(0, 8)) === "LibxlFmt");
 * ```
 */
export function encodeLibxlHeader(h: Partial<LibxlHeader>): Uint8Array {
  const out = new Uint8Array(HDR_SIZE);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, h.ident ?? HDR_IDENT, false);
  v.setUint32(8, h.version ?? HDR_VERSION, false);
  v.setUint32(12, h.options ?? 0, false);
  return out;
}

/** Whether the options say big endian. */
export function libxlIsBigEndian(h: LibxlHeader): boolean {
  return ((h.options >> HDR_OPT_BIT_ENDIAN) & 1) === 1;
}

/** Whether the options say the stream was converted from a legacy image. */
export function libxlIsLegacy(h: LibxlHeader): boolean {
  return ((h.options >> HDR_OPT_BIT_LEGACY) & 1) === 1;
}
