/**
 * Page batches: a positive chunk type `n` is followed by `n` pfn words
 * (`unsigned long`: 4 or 8 octets) and then one page of data for each word
 * whose type carries data.  A pfn word holds the pfn in bits 0–27 and the
 * page type (`XEN_DOMCTL_PFINFO_*`) in bits 28–31.
 *
 * The rules are Xen's converter's: the `XTAB` filler word `0xf0000000` is
 * dropped, a batch with duplicate words (after dropping) is rejected, and
 * types below `BROKEN` (0xd) carry a page.  On the way to a v2 PAGE_DATA
 * entry the type moves from bit 28 to bit 60; bits 32–63 of a 64-bit word
 * are not carried over (they are always zero in real images).
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import {
  LEGACY_PFN_MASK,
  MAX_BATCH,
  PFINFO_FIRST_WITHOUT_DATA,
  type ToolstackWidth,
  XEN_DOMCTL_PFINFO_LTAB_SHIFT,
  XTAB_FILLER,
} from "./constants.ts";

/** What {@linkcode decodeBatchPfns} found. */
export interface BatchPfns {
  /** Words kept (fillers dropped); their low 32 bits are in `out[0..kept)`. */
  kept: number;
  /** `XTAB` filler words dropped. */
  dropped: number;
  /** Kept words whose type carries a page of data. */
  dataPages: number;
}

/**
 * Whether a legacy page type (bits 28–31) is followed by a page of data.
 *
 * @example
 * ```ts
 * import { legacyTypeHasData } from "./page_batch.ts";
 * console.assert(legacyTypeHasData(0x1) && legacyTypeHasData(0x9) && !legacyTypeHasData(0xf));
 * ```
 */
export function legacyTypeHasData(type: number): boolean {
  return type < PFINFO_FIRST_WITHOUT_DATA;
}

/**
 * Checks a batch's page count against `MAX_BATCH`; `offset` locates the
 * chunk type word.
 *
 * @example
 * ```ts
 * import { checkBatchCount } from "./page_batch.ts";
 * checkBatchCount(1024, 0);
 * let threw = false;
 * try { checkBatchCount(1025, 8); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkBatchCount(count: number, offset: number): void {
  if (count > MAX_BATCH) {
    throw new StreamError(
      `Page batch (${count}) exceeded MAX_BATCH (${MAX_BATCH})`,
      offset,
      "legacy page batch",
    );
  }
}

/**
 * Decodes the pfn array of a batch of `count` words of `width` bits from
 * `words`, writing the low 32 bits of each kept word to `out`.  Throws
 * {@linkcode StreamError} on duplicate words; `offset` locates the array.
 *
 * @example
 * ```ts
 * import { decodeBatchPfns } from "./page_batch.ts";
 * const words = new Uint8Array(12);
 * const v = new DataView(words.buffer);
 * v.setUint32(0, 0x10000005, true); // L1TAB pfn 5
 * v.setUint32(4, 0xf0000000, true); // XTAB filler: dropped
 * v.setUint32(8, 0xe0000007, true); // XALLOC pfn 7: no data
 * const out = new Uint32Array(3);
 * const r = decodeBatchPfns(words, 3, 32, out, 0);
 * console.assert(r.kept === 2 && r.dropped === 1 && r.dataPages === 1);
 * console.assert(out[0] === 0x10000005 && out[1] === 0xe0000007);
 * ```
 */
export function decodeBatchPfns(
  words: Uint8Array,
  count: number,
  width: ToolstackWidth,
  out: Uint32Array,
  offset: number,
): BatchPfns {
  const v = new DataView(words.buffer, words.byteOffset, words.byteLength);
  const step = width / 8;
  let kept = 0;
  let dataPages = 0;
  let highBits = false;
  for (let i = 0, at = 0; i < count; i++, at += step) {
    const lo = v.getUint32(at, true);
    const hi = step === 8 ? v.getUint32(at + 4, true) : 0;
    if (lo === XTAB_FILLER && hi === 0) continue;
    if (hi !== 0) highBits = true;
    out[kept++] = lo;
    if (legacyTypeHasData(lo >>> XEN_DOMCTL_PFINFO_LTAB_SHIFT)) dataPages++;
  }
  if (hasDuplicates(v, count, step, out, kept, highBits)) {
    throw new StreamError("Duplicate pfns in batch", offset, "legacy page batch pfn array");
  }
  return { kept, dropped: count - kept, dataPages };
}

/** Duplicate check on the whole words, as Xen's `len(set(pfns)) != len(pfns)`. */
function hasDuplicates(
  v: DataView,
  count: number,
  step: number,
  lows: Uint32Array,
  kept: number,
  highBits: boolean,
): boolean {
  if (!highBits) return new Set(lows.subarray(0, kept)).size !== kept;
  // Rare: 64-bit words with bits 32-63 set; compare them whole.
  const seen = new Set<bigint>();
  for (let i = 0, at = 0; i < count; i++, at += step) {
    const w = v.getBigUint64(at, true);
    if (w === BigInt(XTAB_FILLER)) continue;
    if (seen.has(w)) return true;
    seen.add(w);
  }
  return false;
}

/**
 * Splits a legacy pfn word into the v2 pfn (bits 0–27) and page type
 * (bits 28–31, to become bits 60–63 of the PAGE_DATA entry).
 *
 * @example
 * ```ts
 * import { splitLegacyPfn } from "./page_batch.ts";
 * const { pfn, type } = splitLegacyPfn(0x9000abcd);
 * console.assert(pfn === 0xabcd && type === 0x9);
 * ```
 */
export function splitLegacyPfn(word: number): { pfn: number; type: number } {
  return { pfn: word & LEGACY_PFN_MASK, type: word >>> XEN_DOMCTL_PFINFO_LTAB_SHIFT };
}
