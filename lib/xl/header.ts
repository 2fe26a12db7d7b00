/**
 * The `xl` save-file header (`tools/xl/xl_saverestore.c`): a 32-octet magic,
 * four 32-bit words in the saving host's byte order, then `optional_data_len`
 * octets of optional data.  xl's optional data is a 32-bit length followed by
 * the domain configuration (JSON when `XL_MANDATORY_FLAG_JSON` is set).
 *
 * ```
 * | magic "Xen saved domain, xl format\n \0 \r" (32 octets)   |
 * | byteorder 0x01020304 | mandatory_flags | optional_flags | optional_data_len |
 * | optional data ...                                         |
 * ```
 *
 * @module
 */

/** The 32-octet magic. */
export const XL_MAGIC: Uint8Array = new TextEncoder().encode("Xen saved domain, xl format\n \0 \r");
/** Byte-order sentinel, written in the saver's order. */
export const SAVEFILE_BYTEORDER_VALUE = 0x01020304;
/** Config data is JSON (`libxl_domain_config`) rather than xl config text. */
export const XL_MANDATORY_FLAG_JSON = 1 << 0;
/** The stream after the header is a libxl v2 stream (else a legacy libxc stream). */
export const XL_MANDATORY_FLAG_STREAMV2 = 1 << 1;
/** The stream is checkpointed (COLO). */
export const XL_MANDATORY_FLAG_COLO = 1 << 2;
/** Every mandatory flag xl 4.17 knows. */
export const XL_MANDATORY_FLAG_ALL = XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2 |
  XL_MANDATORY_FLAG_COLO;
/** Size of the fixed part: magic + four words. */
export const XL_HEADER_SIZE = 48;

/** A decoded xl header (without its optional data). */
export interface XlHeader {
  /** The 32-octet magic, as read. */
  magic: Uint8Array;
  /** The sentinel as read little-endian: 0x01020304 on little-endian savers. */
  byteorder: number;
  /** Mandatory flags (unknown ones must make a restore fail). */
  mandatoryFlags: number;
  /** Optional flags. */
  optionalFlags: number;
  /** Length of the optional data that follows. */
  optionalDataLen: number;
}

/** True when `magic` is the xl magic. */
export function isXlMagic(magic: Uint8Array): boolean {
  return magic.length === XL_MAGIC.length && magic.every((b, i) => b === XL_MAGIC[i]);
}

/**
 * Decodes the 48-octet fixed part of an xl header.
 *
 * @example
 * ```ts
 * import { decodeXlHeader, encodeXlHeader, XL_MANDATORY_FLAG_STREAMV2 } from "./header.ts";
 * const bytes = encodeXlHeader({ mandatoryFlags: XL_MANDATORY_FLAG_STREAMV2 }, new Uint8Array(0));
 * const h = decodeXlHeader(bytes);
 * console.assert(h.byteorder === 0x01020304 && h.mandatoryFlags === 2 && h.optionalDataLen === 0);
 * ```
 */
export function decodeXlHeader(bytes: Uint8Array): XlHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, XL_HEADER_SIZE);
  return {
    magic: bytes.slice(0, 32),
    byteorder: v.getUint32(32, true),
    mandatoryFlags: v.getUint32(36, true),
    optionalFlags: v.getUint32(40, true),
    optionalDataLen: v.getUint32(44, true),
  };
}

/**
 * Encodes an xl header followed by `optionalData` (written verbatim; see
 * {@linkcode encodeXlConfigData} for xl's layout of it).
 *
 * @example
 * ```ts
 * import { encodeXlConfigData, encodeXlHeader } from "./header.ts";
 * const h = encodeXlHeader({ mandatoryFlags: 3 }, encodeXlConfigData("{}"));
 * console.assert(h.length === 48 + 4 + 2);
 * ```
 */
export function encodeXlHeader(h: Partial<XlHeader>, optionalData: Uint8Array): Uint8Array {
  const out = new Uint8Array(XL_HEADER_SIZE + optionalData.length);
  out.set(h.magic ?? XL_MAGIC, 0);
  const v = new DataView(out.buffer);
  v.setUint32(32, h.byteorder ?? SAVEFILE_BYTEORDER_VALUE, true);
  v.setUint32(36, h.mandatoryFlags ?? 0, true);
  v.setUint32(40, h.optionalFlags ?? 0, true);
  v.setUint32(44, h.optionalDataLen ?? optionalData.length, true);
  out.set(optionalData, XL_HEADER_SIZE);
  return out;
}

/**
 * xl's optional data: a 32-bit length and the config text.  xl writes the
 * terminating NUL of the config, so `config` should end with one when it is
 * meant to match xl byte for byte.
 *
 * @example
 * ```ts
 * import { decodeXlConfigData, encodeXlConfigData } from "./header.ts";
 * console.assert(decodeXlConfigData(encodeXlConfigData('{"a":1}')) === '{"a":1}');
 * ```
 */
export function encodeXlConfigData(config: string | Uint8Array): Uint8Array {
  const bytes = typeof config === "string" ? new TextEncoder().encode(config) : config;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  out.set(bytes, 4);
  return out;
}

/**
 * Extracts the domain config from xl optional data, or `undefined` when the
 * data is too short for its own length word.  A trailing NUL is dropped.
 */
export function decodeXlConfigData(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined;
  const len = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
  if (4 + len > data.length) return undefined;
  let end = 4 + len;
  if (end > 4 && data[end - 1] === 0) end--;
  return new TextDecoder().decode(data.subarray(4, end));
}
