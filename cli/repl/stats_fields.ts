/**
 * The numbers `until` conditions (and `status`) can name: a flat view of
 * what the engine has measured, with short names and the engine's own
 * names as aliases.
 *
 * @module
 */

import { estimateDowntime, type PrecopyStats } from "../../lib/engine/policy.ts";

/** One named number. */
export interface StatsField {
  /** Short name, e.g. `dirty`. */
  name: string;
  /** Other accepted names (the engine's field names). */
  aliases: readonly string[];
  /** What it is. */
  help: string;
  /** Reads it. */
  value(s: PrecopyStats, totalBytes: number): number;
}

const last = (s: PrecopyStats) => s.history[s.history.length - 1];

/** Every field, in help order. */
export const STATS_FIELDS: readonly StatsField[] = [
  {
    name: "iter",
    aliases: ["iteration"],
    help: "iterations done (0 before start; the first pass is iteration 0)",
    value: (s) => s.iteration,
  },
  {
    name: "dirty",
    aliases: ["dirtyCount"],
    help: "pages dirty now: what stop-and-copy would send",
    value: (s) => s.dirtyCount,
  },
  {
    name: "dirtyPct",
    aliases: [],
    help: "dirty pages as a percentage of the p2m",
    value: (s) => (s.p2mSize ? (100 * s.dirtyCount) / s.p2mSize : 0),
  },
  { name: "p2m", aliases: ["p2mSize"], help: "pages in the physmap", value: (s) => s.p2mSize },
  {
    name: "sent",
    aliases: ["totalPagesSent"],
    help: "pages sent so far, all iterations",
    value: (s) => s.totalPagesSent,
  },
  {
    name: "pages",
    aliases: ["pagesSent"],
    help: "pages sent by the last iteration",
    value: (s) => last(s)?.pagesSent ?? 0,
  },
  {
    name: "ms",
    aliases: ["durationMs"],
    help: "duration of the last iteration, ms",
    value: (s) => last(s)?.durationMs ?? 0,
  },
  { name: "bytes", aliases: [], help: "bytes written so far", value: (_s, b) => b },
  {
    name: "downtime",
    aliases: ["downtimeMs"],
    help: "estimated downtime if stopping now, ms (from recent bandwidth)",
    value: (s) => (s.history.length ? estimateDowntime(s).downtimeMs : Infinity),
  },
  {
    name: "bandwidth",
    aliases: [],
    help: "estimated link bandwidth, MiB/s",
    value: (s) => (s.history.length ? estimateDowntime(s).bandwidth / 2 ** 20 : 0),
  },
];

/** Every accepted name (short names and aliases). */
export const STATS_FIELD_NAMES: readonly string[] = STATS_FIELDS.flatMap((f) => [
  f.name,
  ...f.aliases,
]);

/**
 * The values of every field (under every name) for `s`.
 *
 * @example
 * ```ts
 * import { statsFieldValues } from "./stats_fields.ts";
 * const v = statsFieldValues({ iteration: 2, dirtyCount: 80, p2mSize: 1000, totalPagesSent: 1100, history: [], pageWireBytes: 4104 }, 0);
 * console.assert(v.dirty === 80 && v.dirtyCount === 80 && v.dirtyPct === 8 && v.iter === 2);
 * ```
 */
export function statsFieldValues(s: PrecopyStats, totalBytes: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of STATS_FIELDS) {
    const v = f.value(s, totalBytes);
    out[f.name] = v;
    for (const a of f.aliases) out[a] = v;
  }
  return out;
}
