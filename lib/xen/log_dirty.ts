/**
 * Log-dirty control of one domain: `xc_logdirty_control` with the bitmap in
 * a hypercall buffer that this object allocates, reuses across rounds and
 * frees on {@linkcode LogDirty.off} (or when the hypervisor closes).
 *
 * @module
 */

import type { HypercallBuffer, XenCalls } from "./calls.ts";
import {
  XC_PAGE_SIZE,
  XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL,
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
  XEN_DOMCTL_SHADOW_OP_OFF,
  XEN_DOMCTL_SHADOW_OP_PEEK,
} from "./constants.ts";
import type { LogDirtyStats } from "./types.ts";

/** Something the hypervisor must release when it closes. */
export interface Releasable {
  /** Frees native resources; idempotent. */
  release(): void;
}

/** Options of {@linkcode LogDirty.clean}. */
export interface CleanOptions {
  /** `XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL`: last round, domain paused. */
  final?: boolean;
}

/**
 * Bytes of a dirty bitmap covering `pages` pages (one bit per pfn, pfn
 * `p` at byte `p >> 3`, bit `p & 7`).
 *
 * @example
 * ```ts
 * import { bitmapBytes } from "./log_dirty.ts";
 * console.log(bitmapBytes(65)); // 9
 * ```
 */
export function bitmapBytes(pages: number): number {
  return Math.ceil(pages / 8);
}

/**
 * Log-dirty tracking of one domain.  Obtain it as `domain.logDirty`.
 *
 * @example Enable, run a round, turn off (simulator)
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * import { bitmapBytes } from "./log_dirty.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const dom = s.hv.domain(s.domid!);
 * const pages = dom.maxGpfn() + 1;
 * const bitmap = new Uint8Array(bitmapBytes(pages));
 * dom.logDirty.enable();
 * const stats = dom.logDirty.clean(bitmap, pages);
 * console.log(stats.dirtyCount); // 0: nothing writes in this guest
 * dom.logDirty.off();
 * ```
 */
export class LogDirty implements Releasable {
  #calls: XenCalls;
  #domid: number;
  #tracker: Set<Releasable>;
  #buffer: HypercallBuffer | null = null;
  #enabled = false;

  /** @internal Built by `Domain`; not for direct use. */
  constructor(calls: XenCalls, domid: number, tracker: Set<Releasable>) {
    this.#calls = calls;
    this.#domid = domid;
    this.#tracker = tracker;
  }

  /** Whether this object enabled log-dirty mode and has not turned it off. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** `XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY`. */
  enable(): void {
    this.#calls.logdirty(
      this.#domid,
      XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
      "ENABLE_LOGDIRTY",
      null,
      0,
      0,
    );
    this.#enabled = true;
  }

  /**
   * `XEN_DOMCTL_SHADOW_OP_CLEAN`: fills `bitmap` with the pages dirtied
   * since the last CLEAN (of the first `pages` pfns) and clears Xen's copy.
   */
  clean(bitmap: Uint8Array, pages: number, options: CleanOptions = {}): LogDirtyStats {
    const mode = options.final ? XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL : 0;
    return this.#bitmapOp(XEN_DOMCTL_SHADOW_OP_CLEAN, "CLEAN", bitmap, pages, mode);
  }

  /** `XEN_DOMCTL_SHADOW_OP_PEEK`: like {@linkcode clean} but clears nothing. */
  peek(bitmap: Uint8Array, pages: number): LogDirtyStats {
    return this.#bitmapOp(XEN_DOMCTL_SHADOW_OP_PEEK, "PEEK", bitmap, pages, 0);
  }

  /** PEEK without a bitmap: just the counters. */
  stats(): LogDirtyStats {
    return this.#calls.logdirty(this.#domid, XEN_DOMCTL_SHADOW_OP_PEEK, "PEEK", null, 0, 0);
  }

  /** `XEN_DOMCTL_SHADOW_OP_OFF`, then frees the bitmap buffer. */
  off(): void {
    try {
      this.#calls.logdirty(this.#domid, XEN_DOMCTL_SHADOW_OP_OFF, "OFF", null, 0, 0);
      this.#enabled = false;
    } finally {
      this.release();
    }
  }

  /** Frees the hypercall buffer (if any). */
  release(): void {
    if (this.#buffer === null) return;
    if (!this.#calls.closed) this.#calls.freeHypercallBuffer(this.#buffer);
    this.#buffer = null;
    this.#tracker.delete(this);
  }

  #bitmapOp(
    op: number,
    name: string,
    bitmap: Uint8Array,
    pages: number,
    mode: number,
  ): LogDirtyStats {
    if (!Number.isSafeInteger(pages) || pages < 1) {
      throw new RangeError(`page count ${pages} must be >= 1`);
    }
    const bytes = bitmapBytes(pages);
    if (bitmap.length < bytes) {
      throw new RangeError(
        `bitmap of ${bitmap.length} bytes holds fewer than ${pages} pages (needs ${bytes})`,
      );
    }
    const buf = this.#bufferFor(bytes);
    const stats = this.#calls.logdirty(this.#domid, op, name, buf, pages, mode);
    // Xen clips to the p2m size and writes only what it processed.
    const written = bitmapBytes(stats.pages);
    if (written > 0) Deno.UnsafePointerView.copyInto(buf.pointer, bitmap.subarray(0, written));
    bitmap.fill(0, written, bytes);
    return stats;
  }

  #bufferFor(bytes: number): HypercallBuffer {
    // Whole unsigned longs, whole pages: Xen copies the bitmap in longs.
    const pages = Math.max(1, Math.ceil(Math.ceil(bytes / 8) * 8 / XC_PAGE_SIZE));
    if (this.#buffer !== null && this.#buffer.pages === pages) return this.#buffer;
    this.release();
    this.#buffer = this.#calls.allocHypercallBuffer(pages);
    this.#tracker.add(this);
    return this.#buffer;
  }
}
