/**
 * Precopy policies: after every live iteration the engine hands the policy
 * the statistics of all iterations so far, and the policy answers continue,
 * stop-and-copy or abort.  The CLI, the library API and the REPL all drive
 * this one interface.
 *
 * - {@linkcode xenPolicy}: Xen's `simple_precopy_policy` (xg_sr_save.c):
 *   stop below 50 dirty pages or once 5 iterations are done.
 * - {@linkcode downtimePolicy}: estimates link bandwidth and how the dirty
 *   set evolves; keeps iterating while that still shrinks the set that the
 *   guest will be paused for (within an extra-page budget), stops once
 *   further passes no longer pay, or aborts when asked to and the set
 *   cannot be brought under the allowed downtime.
 * - {@linkcode userPolicy}: any function of the same statistics.
 *
 * @module
 */

/** What a policy decides. */
export type PolicyDecision = "continue" | "stop-and-copy" | "abort";

/** Statistics of one finished precopy iteration. */
export interface IterationStats {
  /** Iteration number: 0 is the first pass over all memory. */
  iteration: number;
  /** Pages sent in this iteration. */
  pagesSent: number;
  /** Bytes written to the stream in this iteration. */
  bytesSent: number;
  /** Wall time of the iteration, ms. */
  durationMs: number;
  /** Pages the guest dirtied during it (the CLEAN count): what is left to send. */
  dirtyCount: number;
}

/** What a policy sees. */
export interface PrecopyStats {
  /** Number of iterations done (the next one would be this number). */
  iteration: number;
  /**
   * Pages dirty now (the last CLEAN's count): what the next pass sends.
   * Stop-and-copy sends them too, with the guest still running (libxc's
   * order), and then pauses it for the pages that pass lets through.
   */
  dirtyCount: number;
  /** Pages in the guest's physmap (p2m size). */
  p2mSize: number;
  /** Pages sent so far, all iterations. */
  totalPagesSent: number;
  /** Every finished iteration, oldest first. */
  history: readonly IterationStats[];
  /** Bytes per page on the wire (page plus its pfn entry). */
  pageWireBytes: number;
}

/** A precopy policy. */
export interface PrecopyPolicy {
  /** Name for output (`xen`, `downtime`, `user`). */
  readonly name: string;
  /** Decides after an iteration. */
  decide(stats: PrecopyStats): PolicyDecision;
  /** One line saying why it would decide so now (for the REPL and logs). */
  explain?(stats: PrecopyStats): string;
}

/** `SPP_TARGET_DIRTY_COUNT` in xg_sr_save.c. */
export const SPP_TARGET_DIRTY_COUNT = 50;
/** `SPP_MAX_ITERATIONS` in xg_sr_save.c. */
export const SPP_MAX_ITERATIONS = 5;

/**
 * Xen's simple precopy policy.
 *
 * @example
 * ```ts
 * import { xenPolicy } from "./policy.ts";
 * const s = { iteration: 1, dirtyCount: 900, p2mSize: 1 << 18, totalPagesSent: 1 << 18, history: [], pageWireBytes: 4104 };
 * console.assert(xenPolicy.decide(s) === "continue");
 * console.assert(xenPolicy.decide({ ...s, dirtyCount: 49 }) === "stop-and-copy");
 * console.assert(xenPolicy.decide({ ...s, iteration: 5 }) === "stop-and-copy");
 * ```
 */
export const xenPolicy: PrecopyPolicy = {
  name: "xen",
  decide: (s) =>
    s.dirtyCount < SPP_TARGET_DIRTY_COUNT || s.iteration >= SPP_MAX_ITERATIONS
      ? "stop-and-copy"
      : "continue",
  explain: (s) =>
    s.dirtyCount < SPP_TARGET_DIRTY_COUNT
      ? `stop: ${s.dirtyCount} dirty < ${SPP_TARGET_DIRTY_COUNT}`
      : s.iteration >= SPP_MAX_ITERATIONS
      ? `stop: ${s.iteration} iterations >= ${SPP_MAX_ITERATIONS}`
      : `continue: ${s.dirtyCount} dirty >= ${SPP_TARGET_DIRTY_COUNT}, iteration ${s.iteration} < ${SPP_MAX_ITERATIONS}`,
};

/** Options of {@linkcode downtimePolicy}. */
export interface DowntimePolicyOptions {
  /** Downtime to aim for, ms (default 300). */
  targetDowntimeMs?: number;
  /**
   * Abort instead of stopping when the dirty set cannot be brought under
   * this downtime (ms).  Default: never abort; stop-and-copy anyway.
   */
  maxDowntimeMs?: number;
  /** Hard cap on iterations (default 30). */
  maxIterations?: number;
  /**
   * Extra pages the policy may send beyond one full pass, as a fraction of
   * that pass (iteration 0: the guest's memory; default 2 — Xen's policy
   * may send up to four more passes): iterating costs bandwidth.
   */
  extraBudget?: number;
  /** A pass must shrink the dirty set by at least this fraction to pay (default 0.1). */
  minShrink?: number;
}

/** What the downtime policy estimates from the history. */
export interface DowntimeEstimate {
  /** Link throughput, bytes/s, from recent iterations. */
  bandwidth: number;
  /** Estimated downtime if stopping now, ms: sending {@linkcode nextDirty} pages paused. */
  downtimeMs: number;
  /** Predicted dirty count after one more iteration. */
  nextDirty: number;
}

/** Estimates bandwidth, downtime now, and the dirty set after another pass. */
export function estimateDowntime(s: PrecopyStats): DowntimeEstimate {
  const recent = s.history.slice(-3).filter((h) => h.durationMs > 0 && h.bytesSent > 0);
  const bytes = recent.reduce((n, h) => n + h.bytesSent, 0);
  const ms = recent.reduce((n, h) => n + h.durationMs, 0);
  const bandwidth = ms > 0 ? (bytes * 1000) / ms : Infinity;
  // The dirty set after a pass tracks the pass's length, which tracks the
  // set it sends: model the ratio of the last two sets as the next ratio.
  const h = s.history;
  let nextDirty = s.dirtyCount;
  if (h.length >= 2) {
    const prev = h[h.length - 2].dirtyCount;
    const ratio = prev > 0 ? h[h.length - 1].dirtyCount / prev : 1;
    nextDirty = Math.round(s.dirtyCount * Math.min(1, ratio));
  } else if (h.length === 1 && h[0].pagesSent > 0) {
    nextDirty = Math.round(s.dirtyCount * Math.min(1, s.dirtyCount / h[0].pagesSent));
  }
  // Stopping now sends the dirty set live first; the guest is paused for
  // what that last pass leaves dirty.
  const downtimeMs = (nextDirty * s.pageWireBytes * 1000) / bandwidth;
  return { bandwidth, downtimeMs, nextDirty };
}

/**
 * The downtime-targeting policy.
 *
 * @example
 * ```ts
 * import { downtimePolicy } from "./policy.ts";
 * const p = downtimePolicy({ targetDowntimeMs: 300 });
 * const first = { iteration: 0, pagesSent: 262144, bytesSent: 262144 * 4104, durationMs: 1000, dirtyCount: 13000 };
 * const second = { iteration: 1, pagesSent: 13000, bytesSent: 13000 * 4104, durationMs: 50, dirtyCount: 4000 };
 * const stats = { iteration: 2, dirtyCount: 4000, p2mSize: 262144, totalPagesSent: 275144, history: [first, second], pageWireBytes: 4104 };
 * console.assert(p.decide(stats) === "continue"); // still shrinking fast, and cheap
 * console.assert(p.decide({ ...stats, dirtyCount: 30 }) === "stop-and-copy");
 * ```
 */
export function downtimePolicy(options: DowntimePolicyOptions = {}): PrecopyPolicy {
  const target = options.targetDowntimeMs ?? 300;
  const maxIterations = options.maxIterations ?? 30;
  const extraBudget = options.extraBudget ?? 2;
  const minShrink = options.minShrink ?? 0.1;
  const judge = (s: PrecopyStats): [PolicyDecision, string] => {
    const e = estimateDowntime(s);
    const est = `est. downtime ${e.downtimeMs.toFixed(1)} ms at ${
      (e.bandwidth / 2 ** 20).toFixed(1)
    } MiB/s`;
    if (s.dirtyCount < SPP_TARGET_DIRTY_COUNT) {
      return ["stop-and-copy", `stop: ${s.dirtyCount} dirty pages, ${est}`];
    }
    // One full pass is what iteration 0 sent: the guest's memory.  Not the
    // p2m size, which on HVM spans the MMIO hole (1M pfns for any guest under
    // 4 GiB) and made the budget many times the guest's memory.
    const fullPass = s.history[0]?.pagesSent || s.p2mSize;
    const extra = s.totalPagesSent - fullPass;
    // A pass costs the pages it sends and pays by shrinking the set the guest
    // is paused for: worth it while it cuts that set by minShrink or more,
    // also once the set fits the target (every page less is downtime less).
    const shrinking = e.nextDirty <= s.dirtyCount * (1 - minShrink);
    const fits = e.downtimeMs <= target;
    const affordable = extra + s.dirtyCount <= extraBudget * fullPass;
    if (s.iteration >= maxIterations || !affordable || !shrinking) {
      const why = s.iteration >= maxIterations
        ? `${s.iteration} iterations`
        : !affordable
        ? `extra-page budget spent (${extra} pages beyond one full pass)`
        : "dirty set no longer shrinks";
      if (!fits && options.maxDowntimeMs !== undefined && e.downtimeMs > options.maxDowntimeMs) {
        return ["abort", `abort: ${why} and ${est} > ${options.maxDowntimeMs} ms allowed`];
      }
      return ["stop-and-copy", `stop: ${why}; ${est}`];
    }
    return [
      "continue",
      `continue: next pass predicted to leave ${e.nextDirty} of ${s.dirtyCount} dirty; ${est}`,
    ];
  };
  return {
    name: "downtime",
    decide: (s) => judge(s)[0],
    explain: (s) => judge(s)[1],
  };
}

/**
 * Wraps a user function as a policy.
 *
 * @example
 * ```ts
 * import { userPolicy } from "./policy.ts";
 * const p = userPolicy((s) => (s.iteration >= 2 ? "stop-and-copy" : "continue"));
 * console.assert(p.name === "user");
 * ```
 */
export function userPolicy(
  fn: (stats: PrecopyStats) => PolicyDecision,
  name = "user",
): PrecopyPolicy {
  return {
    name,
    decide(s) {
      const d = fn(s);
      if (d !== "continue" && d !== "stop-and-copy" && d !== "abort") {
        throw new TypeError(
          `policy ${name} returned ${JSON.stringify(d)}, not continue/stop-and-copy/abort`,
        );
      }
      return d;
    },
  };
}

/**
 * Resolves a policy by name: `xen`, `downtime`, or `downtime:MS` for another
 * target downtime.
 */
export function policyByName(spec: string, options: DowntimePolicyOptions = {}): PrecopyPolicy {
  if (spec === "xen") return xenPolicy;
  const m = spec.match(/^downtime(?::(\d+(?:\.\d+)?)(?:ms)?)?$/);
  if (m) {
    return downtimePolicy({
      ...options,
      targetDowntimeMs: m[1] ? Number(m[1]) : options.targetDowntimeMs,
    });
  }
  throw new RangeError(`unknown policy '${spec}' (expected xen, downtime or downtime:MS)`);
}
