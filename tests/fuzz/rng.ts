/**
 * A small, fast, seeded pseudo-random generator (sfc32) for the fuzzer.
 * Every fuzz input is generated from its own generator, seeded from the
 * campaign seed and the input's index, so any input can be regenerated from
 * `(seed, index)` alone — which is how a hang is saved as a crasher after
 * the worker that hung has been terminated.
 *
 * @module
 */

/** Mixes two 32-bit words into one (murmur3's finaliser over a combination). */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b ^ (b >>> 16), 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A seeded generator.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = Rng.forInput(7, 42), b = Rng.forInput(7, 42);
 * console.assert(a.u32() === b.u32());
 * console.assert(a.below(10) < 10);
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A generator seeded with four 32-bit words. */
  constructor(a: number, b: number, c: number, d: number) {
    this.#a = a >>> 0;
    this.#b = b >>> 0;
    this.#c = c >>> 0;
    this.#d = d >>> 0 || 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The generator of input `index` of the campaign seeded with `seed`. */
  static forInput(seed: number, index: number): Rng {
    const s = mix(seed >>> 0, 0x9e3779b9);
    const i = mix(index >>> 0, Math.floor(index / 0x100000000));
    return new Rng(mix(s, i), mix(i, s ^ 0x7f4a7c15), mix(s ^ i, 0x165667b1), mix(i, 0x27d4eb2f));
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** A uniform integer in `[0, n)` (`n` ≥ 1). */
  below(n: number): number {
    if (n <= 1) return 0;
    if (n <= 0x100000000) return Math.floor((this.u32() / 0x100000000) * n);
    return Math.floor(((this.u32() * 0x100000000 + this.u32()) / 2 ** 64) * n);
  }

  /** A uniform integer in `[lo, hi]`. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  /** One element of `items` (non-empty). */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}
