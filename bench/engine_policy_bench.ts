/**
 * Benchmark for issue 5 (b): the two precopy policies on the same link and
 * the same workloads, in one run.  Each row is a live save of a fresh
 * simulated guest (256 MiB, one vcpu) whose workload runs throughout, into
 * a 128 MiB/s link (`RateLimitedSink` over a sink that costs nothing, so
 * the link is the only limit on sending).  Workloads: uniform at 1 k, 10 k
 * and 100 k pages/s; a 5 % hot set and a sequential scan at 20 k pages/s —
 * the rate at which Xen's five-iteration cap, not convergence, ends
 * precopy, which is where a downtime policy has work to do — and the hot
 * set again at 50 k pages/s, faster than any pass can catch up with.
 *
 * Reported per row: iterations, pages sent in all, pages sent with the
 * guest paused and the time from pause to the last byte, the dirty rate
 * the guest actually achieved, and wall time.
 *
 * Target (hot set): the downtime policy cuts the downtime pages >= 2x
 * versus Xen's while sending <= 1.2x the total pages.
 *
 * @module
 */

import { policyByName } from "../lib/engine/policy.ts";
import { SaveSession, type SaveStats } from "../lib/engine/save_session.ts";
import type { ByteSink } from "../lib/io/byte_sink.ts";
import { RateLimitedSink } from "../lib/io/rate_limited_sink.ts";
import { openHypervisor } from "../lib/xen/open.ts";
import { table } from "./support.ts";

const MEM = "256M";
const LINK_MIB = 128;
const WORKLOADS: { name: string; pattern: string; rate: number; target?: boolean }[] = [
  { name: "uniform 1k/s", pattern: "uniform", rate: 1000 },
  { name: "uniform 10k/s", pattern: "uniform", rate: 10000 },
  { name: "uniform 100k/s", pattern: "uniform", rate: 100000 },
  { name: "hot 5% 20k/s", pattern: "hot:5%", rate: 20000, target: true },
  { name: "scan 20k/s", pattern: "scan", rate: 20000 },
  { name: "hot 5% 50k/s", pattern: "hot:5%", rate: 50000 },
];
const POLICIES = ["xen", "downtime"];

const nullSink: ByteSink = { write: () => Promise.resolve(), close: () => Promise.resolve() };

using session = await openHypervisor({ sim: "mem=64M" });
const hv = session.hv;
const sim = session.sim!;
console.log(
  `guest: ${MEM} simulated HVM, 1 vcpu; link ${LINK_MIB} MiB/s (RateLimitedSink); live save, xl format`,
);

interface Row {
  stats: SaveStats;
  rate: number;
}

async function runOne(pattern: string, rate: number, policy: string): Promise<Row> {
  const domid = sim.createDomain(`mem=${MEM},vcpus=1,rate=${rate},pattern=${pattern}`);
  try {
    await new Promise((r) => setTimeout(r, 200)); // let the workload settle
    const save = new SaveSession(
      hv,
      domid,
      new RateLimitedSink(nullSink, LINK_MIB * 2 ** 20),
      { live: true, policy: policyByName(policy) },
    );
    const w0 = sim.stats(domid).writes;
    const t0 = performance.now();
    const stats = await save.run();
    const pausedAt = save.pausedAt ?? performance.now();
    const rate = (sim.stats(domid).writes - w0) / ((pausedAt - t0) / 1000);
    save.resumeSource();
    return { stats, rate };
  } finally {
    sim.destroyDomain(domid);
  }
}

/** How many times fewer pages `b` paused than `a` (none paused: at least `a` times). */
function cutText(a: number, b: number): string {
  return b === 0 ? `>=${a}x` : `${(a / b).toFixed(1)}x`;
}

const rows = [[
  "workload",
  "policy",
  "iters",
  "total pages",
  "vs xen",
  "downtime pages",
  "xen/this",
  "downtime ms",
  "dirty/s",
  "wall s",
]];
const verdicts: string[] = [];
for (const w of WORKLOADS) {
  const results: Record<string, Row> = {};
  for (const p of POLICIES) {
    const r = await runOne(w.pattern, w.rate, p);
    results[p] = r;
    const xen = results.xen.stats;
    const s = r.stats;
    rows.push([
      w.name,
      p,
      String(s.iterations.length),
      String(s.totalPages),
      p === "xen" ? "-" : `${(s.totalPages / xen.totalPages).toFixed(2)}x`,
      String(s.downtime!.pages),
      p === "xen" ? "-" : cutText(xen.downtime!.pages, s.downtime!.pages),
      s.downtime!.ms.toFixed(1),
      String(Math.round(r.rate)),
      (s.wallMs / 1000).toFixed(1),
    ]);
  }
  if (w.target) {
    const xen = results.xen.stats, down = results.downtime.stats;
    const cut = xen.downtime!.pages / Math.max(1, down.downtime!.pages);
    const cost = down.totalPages / xen.totalPages;
    verdicts.push(
      `${w.name}: downtime policy cuts downtime pages ${
        cutText(xen.downtime!.pages, down.downtime!.pages)
      } (target >= 2x), ` +
        `sends ${cost.toFixed(2)}x the pages (target <= 1.2x): ${
          cut >= 2 && cost <= 1.2 ? "MET" : "MISSED"
        }`,
    );
  }
}
console.log(table(rows));
for (const v of verdicts) console.log(v);
