/**
 * How the REPL prints engine numbers: one line per iteration, sizes in
 * MiB, a policy verdict.
 *
 * @module
 */

import type { IterationStats, PolicyDecision } from "../../lib/engine/policy.ts";

/**
 * Bytes as MiB with one decimal.
 *
 * @example
 * ```ts
 * import { mib } from "./format.ts";
 * console.assert(mib(3 * 2 ** 20) === "3.0 MiB");
 * ```
 */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * One iteration as a line.
 *
 * @example
 * ```ts
 * import { formatIteration } from "./format.ts";
 * const line = formatIteration({ iteration: 2, pagesSent: 257, bytesSent: 1054744, durationMs: 4.2, dirtyCount: 121 });
 * console.assert(line === "iter 2: sent 257 pages (1.0 MiB) in 4.2 ms; 121 dirty now");
 * ```
 */
export function formatIteration(it: IterationStats): string {
  return `iter ${it.iteration}: sent ${it.pagesSent} pages (${mib(it.bytesSent)}) in ${
    it.durationMs.toFixed(1)
  } ms; ${it.dirtyCount} dirty now`;
}

/** The iteration as `--json` prints it. */
export function iterationJson(it: IterationStats): Record<string, number> {
  return {
    iteration: it.iteration,
    pagesSent: it.pagesSent,
    bytesSent: it.bytesSent,
    durationMs: Math.round(it.durationMs * 1000) / 1000,
    dirtyCount: it.dirtyCount,
  };
}

/**
 * A policy verdict as a line.
 *
 * @example
 * ```ts
 * import { formatVerdict } from "./format.ts";
 * console.assert(formatVerdict("xen", { decision: "continue", why: "continue: 121 dirty >= 50" }) === "policy xen: continue: 121 dirty >= 50");
 * ```
 */
export function formatVerdict(
  policy: string,
  v: { decision: PolicyDecision; why: string },
): string {
  return v.why.startsWith(v.decision)
    ? `policy ${policy}: ${v.why}`
    : `policy ${policy}: ${v.decision} (${v.why})`;
}
