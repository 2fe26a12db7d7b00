/**
 * PAGE_DATA, the record that carries guest memory:
 *
 * ```
 * | count (u32)        | reserved (u32)  |
 * | pfn[0] (u64) ... pfn[count-1] (u64)  |
 * | page_data[0] (4096 octets) ...       |
 * ```
 *
 * Each pfn entry holds the pfn in bits 0–51, reserved bits 52–59 and the page
 * type (`XEN_DOMCTL_PFINFO_*`) in bits 60–63.  Only entries whose type has
 * data ({@linkcode pageTypeHasData}) have a page in `page_data`, in order.
 *
 * This is the hot path of every tool: decoding reads the pfn array once and
 * hands the pages out as a view of the record body, never a copy.
 *
 * @module
 */

import { RecordError } from "../errors.ts";
import { paddedLength, RECORD_HEADER_SIZE, writeRecordHeader } from "../record_header.ts";
import { PAGE_SIZE, pageTypeHasData, REC_TYPE } from "./constants.ts";

/** Octets before the pfn array. */
export const PAGE_DATA_HEADER_SIZE = 8;

/** A decoded PAGE_DATA record. */
export interface PageData {
  /** Number of pfn entries. */
  count: number;
  /** Reserved 32 bits after `count`. */
  reserved: number;
  /** pfn of each entry (bits 0–51). */
  pfns: Float64Array;
  /** Page type of each entry (bits 60–63). */
  types: Uint8Array;
  /** Reserved bits 52–59 of each entry. */
  pfnReserved: Uint8Array;
  /** The pages with data, in entry order, 4096 octets each: a view, not a copy. */
  pages: Uint8Array;
}

/** Splits the pfn entry at byte `at` of `v` into pfn, reserved bits and type. */
export function pfnEntry(v: DataView, at: number): { pfn: number; reserved: number; type: number } {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  return { pfn: (hi & 0xfffff) * 0x100000000 + lo, reserved: (hi >>> 20) & 0xff, type: hi >>> 28 };
}

/**
 * Decodes a PAGE_DATA body.  Throws {@linkcode RecordError} if the body is
 * too short for its count or its page data does not match the entries' types.
 * `offset` (of the body in the input) locates the error.
 *
 * @example
 * ```ts
 * import { decodePageData, encodePageData } from "./page_data.ts";
 * const rec = encodePageData([5, 6], new Uint8Array([0, 0xf]), new Uint8Array(4096).fill(7));
 * const pd = decodePageData(rec.subarray(8));
 * console.assert(pd.count === 2 && pd.pfns[1] === 6 && pd.types[1] === 0xf);
 * console.assert(pd.pages.length === 4096 && pd.pages[0] === 7);
 * ```
 */
export function decodePageData(body: Uint8Array, offset = 0): PageData {
  if (body.length < PAGE_DATA_HEADER_SIZE) {
    throw new RecordError(
      `PAGE_DATA body of ${body.length} bytes is shorter than its header`,
      offset,
    );
  }
  const v = new DataView(body.buffer, body.byteOffset, body.length);
  const count = v.getUint32(0, true);
  const reserved = v.getUint32(4, true);
  const pfnEnd = PAGE_DATA_HEADER_SIZE + count * 8;
  if (pfnEnd > body.length) {
    throw new RecordError(
      `PAGE_DATA count ${count} needs ${pfnEnd} bytes, body has ${body.length}`,
      offset,
    );
  }
  const pfns = new Float64Array(count);
  const types = new Uint8Array(count);
  const pfnReserved = new Uint8Array(count);
  let withData = 0;
  for (let i = 0, at = PAGE_DATA_HEADER_SIZE; i < count; i++, at += 8) {
    const lo = v.getUint32(at, true);
    const hi = v.getUint32(at + 4, true);
    pfns[i] = (hi & 0xfffff) * 0x100000000 + lo;
    pfnReserved[i] = (hi >>> 20) & 0xff;
    const type = hi >>> 28;
    types[i] = type;
    if (pageTypeHasData(type)) withData++;
  }
  const pages = body.subarray(pfnEnd);
  if (pages.length !== withData * PAGE_SIZE) {
    throw new RecordError(
      `PAGE_DATA has ${withData} pages with data but ${pages.length} bytes of page data`,
      offset,
    );
  }
  return { count, reserved, pfns, types, pfnReserved, pages };
}

/** Size of a whole PAGE_DATA record (header, body, padding) of `count` entries, `withData` pages. */
export function pageDataRecordSize(count: number, withData: number): number {
  return RECORD_HEADER_SIZE +
    paddedLength(PAGE_DATA_HEADER_SIZE + count * 8 + withData * PAGE_SIZE);
}

/**
 * Writes a whole PAGE_DATA record into `out` at `at` and returns its size.
 * `pages` holds the pages of the entries with data, in order; the engine
 * uses this to build records in a reused buffer.
 */
export function writePageData(
  out: Uint8Array,
  at: number,
  pfns: ArrayLike<number>,
  types: ArrayLike<number>,
  pages: Uint8Array,
  reservedBits?: ArrayLike<number>,
): number {
  const count = pfns.length;
  const bodyLength = PAGE_DATA_HEADER_SIZE + count * 8 + pages.length;
  writeRecordHeader(out, at, REC_TYPE.PAGE_DATA, bodyLength);
  const v = new DataView(out.buffer, out.byteOffset + at + RECORD_HEADER_SIZE);
  v.setUint32(0, count, true);
  v.setUint32(4, 0, true);
  for (let i = 0, p = PAGE_DATA_HEADER_SIZE; i < count; i++, p += 8) {
    const pfn = pfns[i];
    v.setUint32(p, pfn >>> 0, true);
    const hi = Math.floor(pfn / 0x100000000) & 0xfffff;
    v.setUint32(p + 4, (hi | ((reservedBits?.[i] ?? 0) << 20) | (types[i] << 28)) >>> 0, true);
  }
  const pagesAt = at + RECORD_HEADER_SIZE + PAGE_DATA_HEADER_SIZE + count * 8;
  out.set(pages, pagesAt);
  const end = at + RECORD_HEADER_SIZE + paddedLength(bodyLength);
  out.fill(0, pagesAt + pages.length, end);
  return end - at;
}

/**
 * Encodes a PAGE_DATA record (header included) from parallel pfn and type
 * arrays and the data pages.
 *
 * @example
 * ```ts
 * import { encodePageData } from "./page_data.ts";
 * const rec = encodePageData([1], [0], new Uint8Array(4096));
 * console.assert(rec.length === 8 + 8 + 8 + 4096);
 * ```
 */
export function encodePageData(
  pfns: ArrayLike<number>,
  types: ArrayLike<number>,
  pages: Uint8Array,
  reservedBits?: ArrayLike<number>,
): Uint8Array {
  const out = new Uint8Array(
    RECORD_HEADER_SIZE + paddedLength(PAGE_DATA_HEADER_SIZE + pfns.length * 8 + pages.length),
  );
  writePageData(out, 0, pfns, types, pages, reservedBits);
  return out;
}

/** Encodes a decoded PAGE_DATA back to a record (round trip). */
export function encodePageDataRecord(pd: PageData): Uint8Array {
  const out = encodePageData(pd.pfns, pd.types, pd.pages, pd.pfnReserved);
  new DataView(out.buffer).setUint32(RECORD_HEADER_SIZE + 4, pd.reserved, true);
  return out;
}
