/**
 * The simulator's page stamps, checkable without the simulator: bytes 0-7
 * hold the pfn, 8-15 the write generation (>= 1), and the rest an
 * xorshift32 stream seeded from both.  A never-written page is all zero.
 * Mirrors `native/sim/stamp.c`.
 *
 * @module
 */

import { XC_PAGE_SIZE } from "./constants.ts";

/** Outcome of {@linkcode checkPageStamp}. */
export type StampCheck =
  /** A complete stamp for the expected pfn. */
  | { status: "stamped"; pfn: number; generation: number }
  /** All zero: never written since populated. */
  | { status: "zero" }
  /** Anything else: torn, misplaced or damaged. */
  | { status: "corrupt"; reason: string };

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function seed(pfnLo: number, pfnHi: number, genLo: number, genHi: number): number {
  const s =
    (fmix32(pfnLo) ^ fmix32((pfnHi ^ 0x68e31da4) >>> 0) ^ fmix32((genLo ^ 0xb5297a4d) >>> 0) ^
      fmix32((genHi ^ 0x1b56c4e9) >>> 0)) >>> 0;
  return s === 0 ? 0x9e3779b9 : s;
}

/**
 * The generation stamped in a page (0 if never written), without checking.
 *
 * @example
 * ```ts
 * import { pageGeneration } from "./page_stamp.ts";
 * console.log(pageGeneration(new Uint8Array(4096))); // 0
 * ```
 */
export function pageGeneration(page: Uint8Array): number {
  const dv = new DataView(page.buffer, page.byteOffset, 16);
  return dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
}

/**
 * Checks a 4 KiB page against the stamp format for `pfn`.
 *
 * @example
 * ```ts
 * import { checkPageStamp } from "./page_stamp.ts";
 * console.log(checkPageStamp(new Uint8Array(4096), 5).status); // "zero"
 * ```
 */
export function checkPageStamp(page: Uint8Array, pfn: number): StampCheck {
  if (page.length !== XC_PAGE_SIZE) {
    return { status: "corrupt", reason: `page is ${page.length} bytes` };
  }
  const w = new Uint32Array(page.buffer.slice(page.byteOffset, page.byteOffset + XC_PAGE_SIZE));
  const genLo = w[2], genHi = w[3];
  if (genLo === 0 && genHi === 0) {
    return w.every((x) => x === 0)
      ? { status: "zero" }
      : { status: "corrupt", reason: "generation 0 but not zero" };
  }
  const got = w[0] + w[1] * 2 ** 32;
  if (got !== pfn) {
    return { status: "corrupt", reason: `stamped for pfn ${got}, read at pfn ${pfn}` };
  }
  let s = seed(w[0], w[1], genLo, genHi);
  for (let i = 4; i < XC_PAGE_SIZE / 4; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    if (w[i] !== s) return { status: "corrupt", reason: `word ${i} differs` };
  }
  return { status: "stamped", pfn, generation: genLo + genHi * 2 ** 32 };
}
