/**
 * Foreign memory: mapping a guest's pages into this process with
 * `xenforeignmemory_map`, reading/writing them through zero-copy views, and
 * unmapping.  Views die with the mapping (their buffer is detached on
 * unmap), so a stale view reads as empty instead of faulting.
 *
 * @module
 */

import type { XenCalls } from "./calls.ts";
import { PROT_READ, XC_PAGE_SIZE } from "./constants.ts";
import { XenError } from "./errors.ts";
import type { Releasable } from "./log_dirty.ts";

const EBADF = 9;
const EINVAL = 22;

/**
 * Pages of one domain mapped by a single `xenforeignmemory_map` call.
 * Pages that failed (hole, beyond the p2m, not populated) carry their
 * errno in {@linkcode errors} and cannot be viewed.
 */
export class ForeignMapping implements Releasable, Disposable {
  /** Domain the pages belong to. */
  readonly domid: number;
  /** Number of pages (including failed ones). */
  readonly pages: number;
  #calls: XenCalls;
  #tracker: Set<Releasable>;
  #pointer: Deno.PointerObject | null;
  #memory: ArrayBuffer | null;
  #pfns: Float64Array;
  #errors: Int32Array;

  /** @internal Built by {@linkcode ForeignMemory.map}. */
  constructor(
    calls: XenCalls,
    tracker: Set<Releasable>,
    domid: number,
    pfns: Float64Array,
    pointer: Deno.PointerObject,
    errors: Int32Array,
  ) {
    this.#calls = calls;
    this.#tracker = tracker;
    this.domid = domid;
    this.pages = pfns.length;
    this.#pfns = pfns;
    this.#pointer = pointer;
    this.#memory = Deno.UnsafePointerView.getArrayBuffer(pointer, pfns.length * XC_PAGE_SIZE);
    // privcmd reports negative errno values; the header documents positive ones.
    this.#errors = errors.map(Math.abs);
    tracker.add(this);
  }

  /** Per-page errno (0 = mapped), in map order. A copy. */
  get errors(): Int32Array {
    return this.#errors.slice();
  }

  /** Number of pages that failed to map. */
  get failed(): number {
    return this.#errors.reduce((n, e) => n + (e !== 0 ? 1 : 0), 0);
  }

  /** Whether the mapping is still live. */
  get mapped(): boolean {
    return this.#pointer !== null;
  }

  /** The pfn of page `i`. */
  pfn(i: number): number {
    this.#index(i);
    return this.#pfns[i];
  }

  /** Whether page `i` mapped. */
  ok(i: number): boolean {
    this.#index(i);
    return this.#errors[i] === 0;
  }

  /**
   * A 4 KiB view of page `i`, valid until {@linkcode unmap}.  Throws a
   * {@linkcode XenError} naming the pfn if that page failed to map.
   */
  page(i: number): Uint8Array {
    this.#index(i);
    if (this.#memory === null) {
      throw new XenError("xenforeignmemory_map", EBADF, {
        subject: `domid ${this.domid}, page ${i}`,
        reason: "mapping was unmapped",
      });
    }
    if (this.#errors[i] !== 0) this.#pageError(i);
    return new Uint8Array(this.#memory, i * XC_PAGE_SIZE, XC_PAGE_SIZE);
  }

  /** Throws for the first page that failed to map, if any. */
  /**
   * All pages of the mapping as one view (a bulk map is one contiguous
   * region): what the save engine writes straight into the stream.  Throws
   * like {@linkcode ForeignMapping.page} if any page failed to map.
   */
  all(): Uint8Array {
    this.assertAllMapped();
    if (this.#memory === null) {
      throw new XenError("xenforeignmemory_map", EBADF, {
        subject: `domid ${this.domid}, ${this.pages} pages`,
        reason: "mapping was unmapped",
      });
    }
    return new Uint8Array(this.#memory, 0, this.pages * XC_PAGE_SIZE);
  }

  assertAllMapped(): void {
    const i = this.#errors.findIndex((e) => e !== 0);
    if (i >= 0) this.#pageError(i);
  }

  /** `xenforeignmemory_unmap`; a second call is a {@linkcode XenError}. */
  unmap(): void {
    if (this.#pointer === null) {
      throw new XenError("xenforeignmemory_unmap", EINVAL, {
        subject: `domid ${this.domid}, ${this.pages} pages`,
        reason: "mapping already unmapped",
      });
    }
    const p = this.#pointer;
    this.#detach();
    this.#calls.foreignUnmap(p, this.pages);
  }

  /** Unmaps if still mapped (used when the hypervisor closes). */
  release(): void {
    if (this.#pointer === null) return;
    const p = this.#pointer;
    this.#detach();
    if (!this.#calls.closed) this.#calls.foreignUnmap(p, this.pages);
  }

  /** Same as {@linkcode release}. */
  [Symbol.dispose](): void {
    this.release();
  }

  #detach(): void {
    // transfer(0) detaches every view without copying the guest's memory.
    this.#memory?.transfer(0);
    this.#memory = null;
    this.#pointer = null;
    this.#tracker.delete(this);
  }

  #index(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.pages) {
      throw new RangeError(`page index ${i} is not in 0..${this.pages - 1}`);
    }
  }

  #pageError(i: number): never {
    throw new XenError("xenforeignmemory_map", this.#errors[i], {
      subject: `domid ${this.domid}, pfn 0x${this.#pfns[i].toString(16)}`,
    });
  }
}

/**
 * Access to guests' memory; obtain as `hypervisor.foreignMemory`.
 *
 * @example Read the first page of a simulated guest
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * import { PROT_READ } from "./constants.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * using m = s.hv.foreignMemory.map(s.domid!, [0, 1], PROT_READ);
 * console.log(m.page(0).length); // 4096
 * ```
 */
export class ForeignMemory {
  #calls: XenCalls;
  #tracker: Set<Releasable>;

  /** @internal Built by `Hypervisor`. */
  constructor(calls: XenCalls, tracker: Set<Releasable>) {
    this.#calls = calls;
    this.#tracker = tracker;
  }

  /**
   * Maps `pfns` of `domid` contiguously (`prot` as for mmap(2):
   * `PROT_READ`, or `PROT_READ | PROT_WRITE` to fill pages on restore).
   * Per-page failures do not throw; see {@linkcode ForeignMapping.errors}.
   */
  map(domid: number, pfns: ArrayLike<number>, prot: number = PROT_READ): ForeignMapping {
    if (pfns.length === 0) throw new RangeError("cannot map zero pages");
    const copy = Float64Array.from(pfns);
    const errors = new Int32Array(copy.length);
    const p = this.#calls.foreignMap(domid, prot, copy, errors);
    return new ForeignMapping(this.#calls, this.#tracker, domid, copy, p, errors);
  }
}
