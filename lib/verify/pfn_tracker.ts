/**
 * Counts distinct pfns, and pfns seen more than once, in bounded memory.
 *
 * pfns are 52-bit, so a flat bitmap is out of the question; this keeps
 * 512-pfn chunks in a map (sequential pfns hit the same chunk), and stops
 * tracking — marking its counts as lower bounds — once `maxChunks` chunks
 * exist, so a hostile stream of scattered pfns cannot make it allocate
 * without limit.
 *
 * @module
 */

const CHUNK_BITS = 9; // 512 pfns a chunk
const CHUNK_WORDS = (1 << CHUNK_BITS) / 32;

/**
 * Tracks pfns seen.
 *
 * @example
 * ```ts
 * import { PfnTracker } from "./pfn_tracker.ts";
 * const t = new PfnTracker();
 * for (const pfn of [1, 2, 2, 2 ** 40]) t.add(pfn);
 * console.assert(t.unique === 3 && t.repeated === 1 && t.exact);
 * ```
 */
export class PfnTracker {
  #chunks = new Map<number, Uint32Array>();
  #lastKey = -1;
  #last: Uint32Array | undefined;
  #maxChunks: number;
  #unique = 0;
  #repeated = 0;
  #exact = true;

  /** `maxChunks` bounds memory at about 130 bytes per chunk (default 1 Mi chunks). */
  constructor(maxChunks = 1 << 20) {
    this.#maxChunks = maxChunks;
  }

  /** Distinct pfns seen. */
  get unique(): number {
    return this.#unique;
  }
  /** Distinct pfns seen at least twice. */
  get repeated(): number {
    return this.#repeated;
  }
  /** False once the chunk limit was hit and counts became lower bounds. */
  get exact(): boolean {
    return this.#exact;
  }

  /** Records one sighting of `pfn`; true when it is the first (or untracked). */
  add(pfn: number): boolean {
    const key = Math.floor(pfn / (1 << CHUNK_BITS));
    let chunk = key === this.#lastKey ? this.#last : this.#chunks.get(key);
    if (chunk === undefined) {
      if (this.#chunks.size >= this.#maxChunks) {
        this.#exact = false;
        return true;
      }
      // Words [0, CHUNK_WORDS) hold "seen", the next CHUNK_WORDS "seen twice".
      chunk = new Uint32Array(2 * CHUNK_WORDS);
      this.#chunks.set(key, chunk);
    }
    this.#lastKey = key;
    this.#last = chunk;
    const bit = pfn - key * (1 << CHUNK_BITS);
    const word = bit >>> 5, mask = 1 << (bit & 31);
    if ((chunk[word] & mask) === 0) {
      chunk[word] |= mask;
      this.#unique++;
      return true;
    }
    if ((chunk[CHUNK_WORDS + word] & mask) === 0) {
      chunk[CHUNK_WORDS + word] |= mask;
      this.#repeated++;
    }
    return false;
  }
}
