/**
 * Walking a guest's physmap without visiting its holes.
 *
 * libxc's save asks Xen for the type of every pfn up to the highest one,
 * 1024 at a time.  An HVM or PVH guest's physmap is mostly hole: a 128 MiB
 * PVH guest has 32 Ki pages at the bottom, ACPI tables near 4 GiB and its
 * special pages (xenstore, console) just below 0xfeff0000, so libxc makes
 * 1020 `XEN_DOMCTL_getpageframeinfo3` calls to find 32 Ki pages — seconds
 * under emulation, and the whole cost of a non-live save's page walk on
 * real hardware.
 *
 * Xen already counts the pages: every pfn with data is a page the domain
 * owns and `tot_pages` counts each owned page once.  So a walk from both
 * ends of the physmap toward the middle may stop as soon as it has found
 * `tot_pages` pages with data; nothing is left in between.  The count is
 * trusted only when nothing can break that equation: no shared pages
 * (`shr_pages`: one page at many pfns, not counted), no paged-out pages
 * (`paged_pages`) and no populate-on-demand entries (a walk would populate
 * them).  A walk that finds more pages than the count, or a count that
 * changed while the walk ran (a running guest ballooning), walks the rest
 * too, as libxc would have.
 *
 * @module
 */

import { MAX_BATCH_SIZE } from "../libxc/constants.ts";
import type { Domain } from "../xen/domain.ts";

/** A stretch of pfns `[first, first + count)`. */
export interface PfnWindow {
  /** First pfn. */
  first: number;
  /** How many pfns (1..1024). */
  count: number;
}

/**
 * The pages a full walk of `domain`'s physmap would find with data — its
 * `tot_pages` — when Xen's counters pin that down; `undefined` when they
 * do not (shared, paged-out or populate-on-demand pages), and the whole
 * physmap has to be walked.
 *
 * @example
 * ```ts
 * import { openHypervisor } from "../xen/open.ts";
 * import { ownedPageCount } from "./p2m_walk.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const dom = s.hv.domain(s.domid!);
 * console.assert(ownedPageCount(dom) === dom.info().totPages);
 * ```
 */
export function ownedPageCount(domain: Domain): number | undefined {
  const info = domain.info();
  if (!info.hvm || info.shrPages !== 0 || info.pagedPages !== 0) return undefined;
  let pod;
  try {
    pod = domain.podTarget();
  } catch {
    return undefined; // no answer is no proof
  }
  return pod.podEntries === 0 && pod.totPages === info.totPages ? info.totPages : undefined;
}

/**
 * The order in which to ask for pfn types: windows of up to 1024 pfns from
 * the bottom of the physmap upward, turning to the top (and downward) each
 * time a window holds no page, until the pages found reach the expected
 * count or the two ends meet.
 *
 * @example A 64-page guest: 48 pages at the bottom, 16 at the top of a 1 Mi-pfn physmap
 * ```ts
 * import { P2mWalk } from "./p2m_walk.ts";
 * const populated = (pfn: number) => pfn < 48 || pfn >= 0xfffff - 15;
 * const walk = new P2mWalk(0x100000, 64);
 * let windows = 0;
 * for (let w; (w = walk.next()); windows++) {
 *   let found = 0;
 *   for (let pfn = w.first; pfn < w.first + w.count; pfn++) found += populated(pfn) ? 1 : 0;
 *   walk.found(found);
 * }
 * console.assert(windows === 3 && walk.complete && walk.skipped === 0x100000 - 3 * 1024);
 * ```
 */
export class P2mWalk {
  #low = 0;
  #high: number;
  #expected: number | undefined;
  #pages = 0;
  #upward = true;
  #pending: PfnWindow | undefined;

  /**
   * A walk of `p2mSize` pfns that may stop once `expected` pages have been
   * found (`undefined`: walk them all).
   */
  constructor(p2mSize: number, expected?: number) {
    if (!Number.isSafeInteger(p2mSize) || p2mSize < 0) {
      throw new RangeError(`physmap size ${p2mSize} is not a count of pfns`);
    }
    this.#high = p2mSize;
    this.#expected = expected;
  }

  /** The next window to look at, or `undefined` when the walk is done. */
  next(): PfnWindow | undefined {
    if (this.#pending) throw new Error("P2mWalk: found() not called for the last window");
    if (this.complete) return undefined;
    const count = Math.min(MAX_BATCH_SIZE, this.#high - this.#low);
    const first = this.#upward ? this.#low : this.#high - count;
    if (this.#upward) this.#low += count;
    else this.#high -= count;
    return this.#pending = { first, count };
  }

  /** Reports how many pages with data the last window held. */
  found(pages: number): void {
    if (!this.#pending) throw new Error("P2mWalk: found() without a window");
    if (!Number.isInteger(pages) || pages < 0 || pages > this.#pending.count) {
      throw new RangeError(`${pages} pages found in a window of ${this.#pending.count} pfns`);
    }
    this.#pending = undefined;
    this.#pages += pages;
    if (pages === 0) this.#upward = !this.#upward;
    // More pages than the domain owns: the count is no guide; walk it all.
    if (this.#expected !== undefined && this.#pages > this.#expected) this.#expected = undefined;
  }

  /** Forgets the expected count: the rest of the physmap is walked too. */
  walkAll(): void {
    this.#expected = undefined;
  }

  /** Pages with data found so far. */
  get pages(): number {
    return this.#pages;
  }

  /** Pfns the walk has not looked at (the hole it skipped, once done). */
  get skipped(): number {
    return this.#high - this.#low;
  }

  /** Whether every page has been found: all pfns walked, or the count reached. */
  get complete(): boolean {
    return this.#low >= this.#high || this.#pages === this.#expected;
  }
}
