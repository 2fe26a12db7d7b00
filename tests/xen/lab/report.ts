/**
 * The lab's summary: where the time went (images, boot, each scenario,
 * with retries), and the side-by-side table of xl and xenmig (save wall
 * time and bytes; migration bytes, passes and guest-visible downtime).
 *
 * @module
 */

import type {
  MigrationFacts,
  XenmigSaveTimedFacts,
  XlBaselineFacts,
} from "../common/observations.ts";
import type { LabTimings } from "./lab.ts";

/** How one step ended. */
export type StepVerdict = "passed" | "failed" | "ignored";

/** One step's line in the summary. */
export interface StepRecord {
  /** Step name. */
  name: string;
  /** Outcome. */
  verdict: StepVerdict;
  /** Host seconds, all attempts. */
  seconds: number;
  /** Attempts after environment faults. */
  retries: number;
  /** Why it was ignored or failed (one line). */
  note?: string;
}

/** A side-by-side cell: a value, or why there is none. */
export type Measured<T> = T | { missing: string };

/** Collects what the summary prints. */
export class LabReport {
  /** Steps in order. */
  readonly steps: StepRecord[] = [];
  /** Start-up timings, once the lab is up. */
  timings?: LabTimings;
  /** The xl baseline. */
  baseline?: XlBaselineFacts;
  /** xenmig's save, timed like the baseline's. */
  xenmigSave: Measured<XenmigSaveTimedFacts> = { missing: "not run" };
  /** xenmig's migration to `xl migrate-receive`, captured like the baseline's. */
  xenmigMigration: Measured<MigrationFacts> = { missing: "not run" };
  /** xenmig → xenmig over TCP (downtime only: not captured). */
  xenmigTcp: Measured<MigrationFacts> = { missing: "not run" };

  /** Records a step. */
  step(record: StepRecord): void {
    this.steps.push(record);
  }

  /** The summary text. */
  render(): string {
    const out: string[] = [];
    if (this.timings) {
      const t = this.timings;
      out.push(
        `images: ${t.imagesBuilt ? "built" : "cached"} in ${t.imagesSeconds.toFixed(1)} s; ` +
          `boot: dom0 ready ${t.dom0ReadySeconds.toFixed(1)} s, agent ready ` +
          `${t.agentReadySeconds.toFixed(1)} s after QEMU start`,
      );
    }
    out.push(
      "",
      "scenario                                                         verdict   seconds",
    );
    for (const s of this.steps) {
      const retry = s.retries ? ` (${s.retries} retr${s.retries > 1 ? "ies" : "y"})` : "";
      out.push(
        `${s.name.slice(0, 64).padEnd(64)} ${s.verdict.padEnd(8)} ${
          s.seconds.toFixed(1).padStart(7)
        }` +
          retry + (s.note ? `  ${s.note}` : ""),
      );
    }
    out.push("", ...this.sideBySide());
    return out.join("\n");
  }

  /** The xl-vs-xenmig table. */
  sideBySide(): string[] {
    const b = this.baseline;
    const rows: string[][] = [["operation", "wall s", "bytes", "passes", "downtime s"]];
    const num = (n: number | undefined, digits = 2) => (n === undefined ? "-" : n.toFixed(digits));
    const bytes = (n: number | undefined) => (n === undefined ? "-" : n.toLocaleString("en-US"));
    if (b) {
      rows.push(["xl save (PVH 128 MiB)", num(b.save.seconds), bytes(b.saveBytes), "-", "-"]);
    }
    const xs = this.xenmigSave;
    rows.push(
      "missing" in xs
        ? ["xenmig save", xs.missing, "", "", ""]
        : xs.save.rc !== 0
        ? ["xenmig save", `failed (exit ${xs.save.rc})`, "", "", ""]
        : ["xenmig save", num(xs.save.seconds), bytes(xs.saveBytes), "-", "-"],
    );
    const mig = (label: string, m: Measured<MigrationFacts>) => {
      if ("missing" in m) return [label, m.missing, "", "", ""];
      if (m.sender.rc !== 0) return [label, `failed (exit ${m.sender.rc})`, "", "", ""];
      const r = m.senderReport;
      const passes = m.stream?.maxSends ??
        (r?.iterations === undefined ? undefined : r.iterations + 1);
      return [
        label,
        num(m.sender.seconds),
        bytes(m.transportBytes ?? m.stream?.streamBytes ?? r?.totalBytes),
        passes === undefined ? "-" : `${passes}`,
        m.guest.resumed ? num(m.guest.gap.seconds, 3) : "did not run",
      ];
    };
    if (b) rows.push(mig("xl migrate → xl migrate-receive", b.migration));
    rows.push(mig("xenmig migrate → xl migrate-receive", this.xenmigMigration));
    rows.push(mig("xenmig migrate → xenmig receive (tcp)", this.xenmigTcp));
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return [
      "side by side, same boot (passes: most sends of one pfn; downtime: largest guest heartbeat gap)",
      ...rows.map((r) =>
        r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      ),
    ];
  }
}
