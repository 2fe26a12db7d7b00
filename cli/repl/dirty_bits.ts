/**
 * Reading a log-dirty bitmap (bit `i` of byte `i >> 3`, least significant
 * first: pfn `i`) by pfn range.
 *
 * @module
 */

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let b = i; b; b &= b - 1) n++;
  return n;
});

/**
 * Whether `pfn` is dirty in `bitmap`.
 *
 * @example
 * ```ts
 * import { isDirty } from "./dirty_bits.ts";
 * console.assert(isDirty(new Uint8Array([0b100]), 2) && !isDirty(new Uint8Array([0b100]), 1));
 * ```
 */
export function isDirty(bitmap: Uint8Array, pfn: number): boolean {
  return ((bitmap[pfn >>> 3] ?? 0) >> (pfn & 7) & 1) === 1;
}

/**
 * Dirty pfns in `[from, to)`.
 *
 * @example
 * ```ts
 * import { countDirty } from "./dirty_bits.ts";
 * const bitmap = new Uint8Array([0xff, 0x0f, 0x01]);
 * console.assert(countDirty(bitmap, 0, 24) === 13);
 * console.assert(countDirty(bitmap, 4, 12) === 8);
 * ```
 */
export function countDirty(bitmap: Uint8Array, from: number, to: number): number {
  let n = 0;
  let p = from;
  while (p < to && (p & 7) !== 0) n += isDirty(bitmap, p++) ? 1 : 0;
  while (p + 8 <= to) {
    n += POPCOUNT[bitmap[p >>> 3] ?? 0];
    p += 8;
  }
  while (p < to) n += isDirty(bitmap, p++) ? 1 : 0;
  return n;
}
