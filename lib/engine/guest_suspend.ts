/**
 * Stopping a guest for the final pass of a save, and starting it again if
 * the save does not complete.
 *
 * A guest with PV drivers must be *suspended*, not just paused: its kernel
 * rebinds event channels and reconnects xenstore and console only on the
 * way back from its own suspend hypercall.  So, as libxl does for PVH and
 * PV-on-HVM guests: write `suspend` to `control/shutdown`, wait for the
 * guest to acknowledge (it clears the node), then wait for the domain to
 * shut down with reason suspend.  Undone by `xc_domain_resume` (fast: the
 * guest's hypercall returns "cancelled") and `xs_resume_domain`.
 *
 * A guest without that control node (no PV drivers, or not managed by a
 * toolstack) is paused instead, and unpaused to undo.
 *
 * @module
 */

import { SHUTDOWN_suspend } from "../xen/constants.ts";
import type { Domain } from "../xen/domain.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";
import type { XenStore } from "../xen/xenstore.ts";

/** How a guest is stopped. */
export type SuspendMethod = "xenstore" | "pause";

/** Options of {@linkcode GuestSuspender}. */
export interface SuspendOptions {
  /** `auto` (default): `xenstore` when the guest has a `control/shutdown` node and runs, else `pause`. */
  method?: SuspendMethod | "auto";
  /** How long the guest may take to acknowledge the request, ms (libxl: 60 s). */
  ackTimeoutMs?: number;
  /** How long it may then take to suspend, ms (libxl: 60 s). */
  suspendTimeoutMs?: number;
}

/** The guest did not suspend when asked; it has been left running. */
export class SuspendError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SuspendError";
  }
}

const POLL_MS = 1;
/** Longest pause between two polls of the guest, ms (without watches). */
const POLL_MAX_MS = 8;
/** Longest wait for a watch event before checking again, ms. */
const WAIT_SLICE_MS = 100;

/** Poll intervals: 1 ms, doubling up to {@linkcode POLL_MAX_MS}. */
function backoff(): () => number {
  let ms = POLL_MS / 2;
  return () => (ms = Math.min(ms * 2, POLL_MAX_MS));
}

/** Wake-ups for a waiting suspend: `next` resolves on a change or after at most `ms`. */
interface Changes {
  next(ms: number): Promise<unknown>;
  close(): void;
}

/** `SHUTDOWN_*` by value, for messages. */
export function shutdownReason(code: number): string {
  return ["poweroff", "reboot", "suspend", "crash", "watchdog"][code] ?? `reason ${code}`;
}
/** How long an interrupted suspend waits for a guest that already acknowledged, ms. */
const RESUME_WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Suspends one guest and undoes it.  {@linkcode suspend} is async (it waits
 * for the guest); {@linkcode resume} is synchronous so interrupt handlers
 * can call it, and is safe in any state, including while a suspend is
 * waiting for the guest (the request is withdrawn).
 *
 * @example Suspend and resume a simulated guest
 * ```ts
 * import { openHypervisor } from "../xen/open.ts";
 * import { GuestSuspender } from "./guest_suspend.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const g = new GuestSuspender(s.hv, s.hv.domain(s.domid!));
 * await g.suspend();
 * console.log(g.method, s.hv.domain(s.domid!).info().shutdown); // "xenstore" true
 * g.resume();
 * console.log(s.hv.domain(s.domid!).info().shutdown); // false
 * ```
 */
export class GuestSuspender {
  #hv: Hypervisor;
  #domain: Domain;
  #options: SuspendOptions;
  #method?: SuspendMethod;
  #state: "running" | "requested" | "suspended" = "running";
  /** What the suspend waits on (see {@linkcode prepare}). */
  #changes?: Changes;

  /** Prepares to suspend `domain`; nothing happens until {@linkcode suspend}. */
  constructor(hv: Hypervisor, domain: Domain, options: SuspendOptions = {}) {
    this.#hv = hv;
    this.#domain = domain;
    this.#options = options;
  }

  /** The method used (known once {@linkcode suspend} has started). */
  get method(): SuspendMethod | undefined {
    return this.#method;
  }

  /** Whether the guest is stopped by this suspender. */
  get suspended(): boolean {
    return this.#state === "suspended";
  }

  #controlNode(): string {
    return `/local/domain/${this.#domain.domid}/control/shutdown`;
  }

  #choose(): SuspendMethod {
    const wanted = this.#options.method ?? "auto";
    if (wanted !== "auto") return wanted;
    const info = this.#domain.state();
    // A paused or shut-down guest cannot answer a request.
    if (info.paused || info.shutdown) return "pause";
    try {
      return this.#hv.xenstore.read(this.#controlNode()) === undefined ? "pause" : "xenstore";
    } catch {
      return "pause"; // no xenstored: nothing to ask the guest through
    }
  }

  /**
   * Decides the method and, for `xenstore`, registers the watches the
   * suspend waits on, now, so that {@linkcode suspend} — in the downtime —
   * does neither (both take xenstore round trips and CPU the suspending
   * guest needs).  Optional; {@linkcode release} unregisters.
   */
  prepare(): SuspendMethod {
    this.#method ??= this.#choose();
    if (this.#method === "xenstore") this.#changes ??= this.#watch(this.#hv.xenstore);
    return this.#method;
  }

  /** Unregisters what {@linkcode prepare} registered (after the downtime); safe to repeat. */
  release(): void {
    this.#changes?.close();
    this.#changes = undefined;
  }

  /** Stops the guest; throws {@linkcode SuspendError} (guest left running) if it will not. */
  async suspend(): Promise<void> {
    if (this.#state !== "running") return;
    const method = this.prepare();
    if (method === "pause") {
      this.#domain.pause();
      this.#state = "suspended";
      return;
    }
    const xs = this.#hv.xenstore;
    const node = this.#controlNode();
    const changes = this.#changes!;
    xs.write(node, "suspend");
    this.#state = "requested";
    const ackMs = this.#options.ackTimeoutMs ?? 60_000;
    const ackBy = performance.now() + ackMs;
    while (!this.#acknowledged(xs, node)) {
      const now = performance.now();
      if (now > ackBy) {
        if (this.#withdraw(xs)) break; // taken just now: it will suspend
        this.#state = "running";
        throw new SuspendError(
          `domain ${this.#domain.domid} did not acknowledge the suspend request within ` +
            `${ackMs} ms (does it have PV drivers?); it was withdrawn`,
        );
      }
      // A guest that crashed or was shut down will never answer.
      const state = this.#domain.state();
      if (state.dying || (state.shutdown && state.shutdownCode !== SHUTDOWN_suspend)) {
        this.#state = "running";
        throw new SuspendError(
          `domain ${this.#domain.domid} ${
            state.dying ? "is dying" : `shut down (${shutdownReason(state.shutdownCode)})`
          } instead of acknowledging the suspend request`,
        );
      }
      if (state.shutdown) break; // suspended already
      await changes.next(ackBy - now);
      if (this.#state !== "requested") return; // resumed (interrupted) meanwhile
    }
    const suspendMs = this.#options.suspendTimeoutMs ?? 60_000;
    const suspendBy = performance.now() + suspendMs;
    for (;;) {
      const state = this.#domain.state();
      if (state.shutdown) {
        if (state.shutdownCode !== SHUTDOWN_suspend) {
          this.#state = "running";
          throw new SuspendError(
            `domain ${this.#domain.domid} shut down (${shutdownReason(state.shutdownCode)}) ` +
              `instead of suspending`,
          );
        }
        this.#state = "suspended";
        return;
      }
      const now = performance.now();
      if (now > suspendBy) {
        this.#state = "running";
        throw new SuspendError(
          `domain ${this.#domain.domid} acknowledged the suspend request but did not suspend ` +
            `within ${suspendMs} ms`,
        );
      }
      await changes.next(suspendBy - now);
      if (this.#state !== "requested") return;
    }
  }

  /**
   * Wakes for what the suspend waits on, as libxl does: xenstore watches on
   * the control node (the acknowledgement) and `@releaseDomain` (fired when
   * a domain shuts down), so the wait costs no CPU the suspending guest
   * needs and ends as soon as xenstored reports.  Where xenstored refuses
   * the watches, polls with back-off instead.  A wait never exceeds
   * {@linkcode WAIT_SLICE_MS}, so an interrupt is noticed.
   */
  #watch(xs: XenStore): Changes {
    const token = `xenmig-suspend-${this.#domain.domid}`;
    const watched: string[] = [];
    const unwatch = () => {
      for (const p of watched) {
        try {
          xs.unwatch(p, token);
        } catch {
          // xenstored gone: nothing left to unregister.
        }
      }
    };
    try {
      for (const p of [this.#controlNode(), "@releaseDomain"]) {
        xs.watch(p, token);
        watched.push(p);
      }
    } catch {
      unwatch();
      const poll = backoff();
      return { next: (ms) => sleep(Math.min(ms, poll())), close() {} };
    }
    return { next: (ms) => xs.watchEvents(Math.min(ms, WAIT_SLICE_MS)), close: unwatch };
  }

  #waitSuspendedSync(ms: number): boolean {
    const until = performance.now() + ms;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const info = this.#domain.state();
      if (info.shutdown) return info.shutdownCode === SHUTDOWN_suspend;
      if (performance.now() > until) return false;
      Atomics.wait(cell, 0, 0, POLL_MS);
    }
  }

  /**
   * Withdraws a pending suspend request, unless the guest took it in the
   * meantime; returns whether it did (and so will suspend).
   */
  #withdraw(xs: XenStore): boolean {
    const node = this.#controlNode();
    return xs.transaction((t) => {
      if (xs.read(node, t) !== "suspend") return true;
      xs.write(node, "", t);
      return false;
    });
  }

  #acknowledged(xs: XenStore, node: string): boolean {
    const v = xs.read(node);
    return v === undefined || v === "";
  }

  /** Lets the guest run again; a no-op unless this suspender stopped it (or is asking it to stop). */
  resume(): void {
    this.release();
    const state = this.#state;
    this.#state = "running";
    if (state === "running") return;
    if (this.#method === "pause") {
      this.#domain.unpause();
      return;
    }
    const xs = this.#hv.xenstore;
    if (state === "requested") {
      // Interrupted while waiting: withdraw a request still pending...
      if (!this.#withdraw(xs)) return;
      // ...or, if the guest took it, let it finish suspending (it will) and
      // bring it back below.  Synchronous: interrupt handlers call this.
      if (!this.#waitSuspendedSync(RESUME_WAIT_MS)) return;
    }
    this.#domain.resume(true);
    xs.resumeDomain(this.#domain.domid);
  }
}
