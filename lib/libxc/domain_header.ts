/**
 * The libxc domain header, 16 octets after the image header, in the stream's
 * byte order:
 *
 * ```
 * | type (u32)        | page_shift (u16) | res (u16) |
 * | xen_major (u32)   | xen_minor (u32)              |
 * ```
 *
 * A `xen_major` of 0 marks a stream converted from the legacy format.
 *
 * @module
 */

import { DHDR_PAGE_SHIFT_X86, DHDR_SIZE, DHDR_TYPE } from "./constants.ts";

/** A decoded domain header. */
export interface DomainHeader {
  /** `DHDR_TYPE_*`. */
  type: number;
  /** log2 of the page size: 12 on x86. */
  pageShift: number;
  /** Reserved 16 bits. */
  reserved: number;
  /** Xen major version of the sender; 0 for legacy-converted streams. */
  xenMajor: number;
  /** Xen minor version of the sender. */
  xenMinor: number;
}

/**
 * Decodes the 16-byte domain header (little endian).
 *
 * @example
 * ```ts
 * import { decodeDomainHeader, encodeDomainHeader } from "./domain_header.ts";
 * const h = decodeDomainHeader(encodeDomainHeader({ type: 2, xenMajor: 4, xenMinor: 17 }));
 * console.assert(h.type === 2 && h.pageShift === 12 && h.xenMinor === 17);
 * ```
 */
export function decodeDomainHeader(bytes: Uint8Array): DomainHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, DHDR_SIZE);
  return {
    type: v.getUint32(0, true),
    pageShift: v.getUint16(4, true),
    reserved: v.getUint16(6, true),
    xenMajor: v.getUint32(8, true),
    xenMinor: v.getUint32(12, true),
  };
}

/**
 * Encodes a domain header; defaults: HVM, page shift 12, Xen 4.17.
 *
 * @example
 * ```ts
 * import { encodeDomainHeader } from "./domain_header.ts";
 * console.assert(encodeDomainHeader({ type: 1 })[0] === 1);
 * ```
 */
export function encodeDomainHeader(h: Partial<DomainHeader>): Uint8Array {
  const out = new Uint8Array(DHDR_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, h.type ?? DHDR_TYPE.X86_HVM, true);
  v.setUint16(4, h.pageShift ?? DHDR_PAGE_SHIFT_X86, true);
  v.setUint16(6, h.reserved ?? 0, true);
  v.setUint32(8, h.xenMajor ?? 4, true);
  v.setUint32(12, h.xenMinor ?? 17, true);
  return out;
}
