/**
 * The `top` command: the pfn ranges with the most dirty pages, in aligned
 * runs (by default 512 pfns, a 2 MiB superpage).
 *
 * @module
 */

import { countDirty } from "./dirty_bits.ts";

/** pfns per range unless told otherwise: a 2 MiB superpage. */
export const DEFAULT_RANGE_PFNS = 512;

/** One range. */
export interface HotRange {
  /** First pfn. */
  first: number;
  /** Last pfn (inclusive). */
  last: number;
  /** Dirty pfns in it. */
  dirty: number;
  /** pfns in it. */
  size: number;
}

/**
 * The `count` ranges of `rangePfns` pfns with the most dirty pages, hottest
 * first (ties: lower pfn first); clean ranges are left out.
 *
 * @example
 * ```ts
 * import { hottestRanges } from "./hot_ranges.ts";
 * const bitmap = new Uint8Array(256);
 * bitmap[100] = 0xff; // pfns 800..807
 * bitmap[0] = 0x01;   // pfn 0
 * const top = hottestRanges(bitmap, 2048, { count: 5 });
 * console.assert(top.length === 2 && top[0].first === 512 && top[0].dirty === 8 && top[1].first === 0);
 * ```
 */
export function hottestRanges(
  bitmap: Uint8Array,
  p2mSize: number,
  options: { count?: number; rangePfns?: number } = {},
): HotRange[] {
  const size = options.rangePfns ?? DEFAULT_RANGE_PFNS;
  const all: HotRange[] = [];
  for (let first = 0; first < p2mSize; first += size) {
    const end = Math.min(p2mSize, first + size);
    const dirty = countDirty(bitmap, first, end);
    if (dirty > 0) all.push({ first, last: end - 1, dirty, size: end - first });
  }
  all.sort((a, b) => b.dirty - a.dirty || a.first - b.first);
  return all.slice(0, options.count ?? 10);
}
