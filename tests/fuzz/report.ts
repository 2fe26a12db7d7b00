/**
 * The human-readable campaign report: one table row per target, then the
 * failures.
 *
 * @module
 */

import type { CampaignReport } from "./campaign.ts";

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Formats `report` (of a campaign seeded with `seed`).
 *
 * @example
 * ```ts
 * import { formatReport } from "./report.ts";
 * const text = formatReport({ targets: [], peakRss: 1048576, ms: 10 }, 1);
 * console.assert(text.includes("peak RSS 1.0 MiB"));
 * ```
 */
export function formatReport(report: CampaignReport, seed: number): string {
  const rows = report.targets.map((t) => {
    const rejected = Object.values(t.stats.rejected).reduce((a, b) => a + b, 0);
    const rate = t.stats.inputs / (t.ms / 1000);
    return [
      t.target.padEnd(14),
      String(t.stats.inputs).padStart(9),
      String(t.stats.ok).padStart(8),
      String(rejected).padStart(9),
      String(t.failureCount - t.hangs).padStart(8),
      String(t.hangs).padStart(6),
      mib(t.stats.largestAlloc.bytes).padStart(10),
      mib(t.stats.largestTotal.bytes).padStart(10),
      `${rate.toFixed(0)}/s`.padStart(8),
      `${(t.ms / 1000).toFixed(0)} s${t.capped ? " (capped)" : ""}`,
    ].join(" ");
  });
  const lines = [
    `seed ${seed}; ${(report.ms / 1000).toFixed(0)} s; peak RSS ${mib(report.peakRss)} ` +
    `(campaign process; each target's host below)`,
    "target            inputs       ok  rejected failures  hangs  max alloc  max total     rate  time",
    ...rows,
  ];
  for (const t of report.targets) {
    for (const f of t.failures) {
      lines.push(`  ${t.target} ${f.kind} (input ${f.index}): ${f.message.split("\n")[0]}`);
      if (f.saved) lines.push(`    saved: ${f.saved}`);
    }
    const a = t.stats.largestAlloc, tot = t.stats.largestTotal;
    if (a.bytes) {
      lines.push(
        `  ${t.target} largest allocation ${a.what} (input of ${a.inputLength} bytes); ` +
          `most in all ${tot.bytes} bytes (input of ${tot.inputLength} bytes); ` +
          `worker heap peak ${mib(t.stats.peakHeap)}; host process peak RSS ${mib(t.peakRss)}`,
      );
    }
    const top = Object.entries(t.stats.rejected).sort((a, b) => b[1] - a[1]);
    if (top.length) {
      lines.push(`  ${t.target} rejections: ${top.map(([k, v]) => `${k} ${v}`).join(", ")}`);
    }
  }
  return lines.join("\n");
}
