/**
 * Looking at the migration and the guest: `status`, `stats`, `bitmap`,
 * `top`, `records`, `inspect`.
 *
 * @module
 */

import { PAGE_TYPE_NAMES, pageTypeHasData } from "../../../lib/libxc/constants.ts";
import { PROT_READ } from "../../../lib/xen/constants.ts";
import { formatSaveStats, statsJson } from "../../engine_command.ts";
import { atMost, parseWhole } from "../arguments.ts";
import type { ReplCommand } from "../command.ts";
import { isDirty } from "../dirty_bits.ts";
import { formatVerdict } from "../format.ts";
import { heatMap, heatShade, renderHeatMap } from "../heat_map.ts";
import { hexDump } from "../hex_dump.ts";
import { DEFAULT_RANGE_PFNS, hottestRanges } from "../hot_ranges.ts";
import type { ReplMigration } from "../migration.ts";
import { ReplError, reply } from "../reply.ts";
import type { ReplSession } from "../session.ts";

/** The heat map's size when not on a terminal. */
export const DEFAULT_MAP_SIZE = { width: 64, height: 16 } as const;

function started(session: ReplSession, what: string): ReplMigration {
  const m = session.requireMigration(what);
  if (m.engine.phase === "new") throw new ReplError(`${what}: not started yet ('start' first)`);
  return m;
}

/** `status`. */
export const statusCommand: ReplCommand = {
  name: "status",
  usage: "status",
  summary: "The attached domain, the migration's phase, destination and policy",
  details: "",
  run(session, args) {
    atMost(args, 0, "status", this.usage);
    const m = session.migration;
    const lines = [`backend: ${session.sim ? "simulator" : "Xen"}`];
    const data: Record<string, unknown> = { backend: session.sim ? "sim" : "xen" };
    if (session.domid === undefined) {
      lines.push("no domain attached ('attach DOMID')");
    } else if (m?.sourceDestroyed) {
      lines.push(`domain ${session.domid}: handed over and destroyed here`);
      data.domid = session.domid;
    } else {
      const dom = session.hv.domain(session.domid);
      const info = dom.info();
      const state = info.paused ? "paused" : "running";
      lines.push(
        `domain ${session.domid}: ${state}, log-dirty ${dom.logDirty.enabled ? "on" : "off"}` +
          (session.userPauses ? `, paused ${session.userPauses}x by 'pause'` : ""),
      );
      Object.assign(data, {
        domid: session.domid,
        paused: info.paused,
        logDirty: dom.logDirty.enabled,
        userPauses: session.userPauses,
      });
      const w = session.workloads.get(session.domid);
      if (session.sim && w) {
        lines.push(`workload: ${w.rate} pages/s, ${describePattern(w.pattern)}`);
      }
    }
    if (m) {
      lines.push(
        `migration: phase ${m.engine.phase}${
          m.outcome !== "none" ? ` (${m.outcome})` : ""
        }, ${m.engine.stats.iterations.length} iterations, ${m.engine.stats.totalBytes} bytes to ${m.destination}`,
      );
      Object.assign(data, {
        phase: m.engine.phase,
        outcome: m.outcome,
        destination: m.destination,
        protocol: m.protocol,
        iterations: m.engine.stats.iterations.length,
        bytes: m.engine.stats.totalBytes,
      });
    }
    lines.push(
      `policy: ${session.policy.name}${session.policySource ? ` (${session.policySource})` : ""}`,
    );
    data.policy = session.policy.name;
    return Promise.resolve(reply(lines.join("\n"), data));
  },
};

/** How a workload pattern reads. */
export function describePattern(
  p: { kind: string; fraction?: number; onMs?: number; offMs?: number } | undefined,
): string {
  if (!p) return "uniform";
  if (p.kind === "hot") return `hot:${+(100 * (p.fraction ?? 0)).toFixed(3)}%`;
  if (p.kind === "bursty") return `bursty:${p.onMs}/${p.offMs}`;
  return p.kind;
}

/** `stats`. */
export const statsCommand: ReplCommand = {
  name: "stats",
  usage: "stats",
  summary: "Table of all iterations so far",
  details: "The same table 'xenmig save' and 'migrate' print, plus the policy's view now.",
  run(session, args) {
    atMost(args, 0, "stats", this.usage);
    const m = started(session, "stats");
    const stats = m.engine.stats;
    let text = formatSaveStats(stats).trimEnd();
    const data: Record<string, unknown> = { stats: JSON.parse(statsJson(stats)) };
    if (m.engine.phase === "precopy") {
      try {
        const v = m.engine.decide();
        text += `\n${formatVerdict(session.policy.name, v)}`;
        data.decision = v.decision;
      } catch (e) {
        text += `\npolicy ${session.policy.name} failed: ${(e as Error).message}`;
      }
    }
    return Promise.resolve(reply(text, data));
  },
};

function mapSize(session: ReplSession, args: readonly string[]): { width: number; height: number } {
  if (args.length) {
    const m = /^(\d+)(?:x(\d+))?$/i.exec(args[0]);
    if (!m) throw new ReplError(`bitmap: size must be COLUMNS or COLUMNSxROWS, not '${args[0]}'`);
    const width = parseWhole(m[1], "bitmap", "COLUMNS", { min: 1, max: 1000 });
    const height = m[2] ? parseWhole(m[2], "bitmap", "ROWS", { min: 1, max: 1000 }) : 1000;
    return { width, height };
  }
  const t = session.terminalSize();
  if (!t) return DEFAULT_MAP_SIZE;
  // Room for the row labels, the legend and the prompt.
  return { width: Math.max(8, t.columns - 12), height: Math.max(2, t.rows - 4) };
}

/** `bitmap [COLUMNS[xROWS]]`. */
export const bitmapCommand: ReplCommand = {
  name: "bitmap",
  usage: "bitmap [COLUMNS[xROWS]]",
  summary: "The current dirty bitmap as a heat map, scaled to the window",
  details: "Each cell covers an equal run of pfns (labelled by the row's first pfn), shaded\n" +
    "· (clean) ░ ▒ ▓ █ (all dirty); any dirty page shows.  The bitmap is the last CLEAN's:\n" +
    "what the next 'step' (or 'finish') sends.",
  run(session, args) {
    atMost(args, 1, "bitmap", this.usage);
    const m = started(session, "bitmap");
    const h = heatMap(m.engine.dirtyBitmap, m.engine.p2mSize, mapSize(session, args));
    return Promise.resolve(reply(renderHeatMap(h), {
      columns: h.columns,
      rows: h.rows,
      pfnsPerCell: h.pfnsPerCell,
      dirty: h.dirty,
      p2mSize: h.p2mSize,
      counts: h.counts,
    }));
  },
};

/** `top [N]`. */
export const topCommand: ReplCommand = {
  name: "top",
  usage: "top [N]",
  summary: `The N (default 10) hottest pfn ranges of ${DEFAULT_RANGE_PFNS} pfns (2 MiB)`,
  details: "Ranked by dirty pages in the current bitmap.",
  run(session, args) {
    atMost(args, 1, "top", this.usage);
    const count = args.length ? parseWhole(args[0], "top", "N", { min: 1, max: 10000 }) : 10;
    const m = started(session, "top");
    const ranges = hottestRanges(m.engine.dirtyBitmap, m.engine.p2mSize, { count });
    const width = m.engine.p2mSize.toString(16).length;
    const hex = (n: number) => `0x${n.toString(16).padStart(width, "0")}`;
    const lines = ranges.map((r) =>
      `pfn ${hex(r.first)}-${hex(r.last)}  ${String(r.dirty).padStart(5)}/${r.size} dirty  ${
        ((100 * r.dirty) / r.size).toFixed(1).padStart(5)
      }%  ${heatShade(r.dirty, r.size)}`
    );
    return Promise.resolve(reply(lines.length ? lines.join("\n") : "no dirty pages", { ranges }));
  },
};

/** `records [N]`. */
export const recordsCommand: ReplCommand = {
  name: "records",
  usage: "records [N]",
  summary: "The last N (default 10, at most 63) records written",
  details: "Offset in the stream, record type and size; one PAGE_DATA record per batch of pages.",
  run(session, args) {
    atMost(args, 1, "records", this.usage);
    const count = args.length ? parseWhole(args[0], "records", "N", { min: 1, max: 63 }) : 10;
    const m = session.requireMigration("records");
    const records = m.engine.recentRecords.slice(-count);
    const lines = records.map((r) =>
      `${String(r.offset).padStart(12)}  ${r.type.padEnd(22)} ${String(r.bytes).padStart(9)} bytes`
    );
    return Promise.resolve(reply(
      records.length
        ? `      offset  type                        size\n${lines.join("\n")}`
        : "no records written yet",
      { records },
    ));
  },
};

/** `inspect PFN`. */
export const inspectCommand: ReplCommand = {
  name: "inspect",
  usage: "inspect PFN",
  summary: "Hex dump of one guest page (PFN decimal or 0x hex)",
  details: "Mapped read-only from the attached domain, as the engine maps pages to send them.",
  run(session, args) {
    if (args.length !== 1) throw new ReplError(`inspect: give one PFN (usage: ${this.usage})`);
    const dom = session.requireDomain("inspect");
    const max = dom.maxGpfn();
    const pfn = parseWhole(args[0], "inspect", "PFN", { min: 0, max });
    const type = dom.pfnTypes([pfn])[0] >>> 28;
    const typeName = PAGE_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
    if (!pageTypeHasData(type)) {
      throw new ReplError(`inspect: pfn 0x${pfn.toString(16)} has no contents (type ${typeName})`);
    }
    const mapping = session.hv.foreignMemory.map(dom.domid, [pfn], PROT_READ);
    let bytes: Uint8Array;
    try {
      if (!mapping.ok(0)) {
        throw new ReplError(
          `inspect: pfn 0x${pfn.toString(16)} could not be mapped (errno ${mapping.errors[0]})`,
        );
      }
      bytes = mapping.page(0).slice();
    } finally {
      mapping.release();
    }
    const engine = session.migration?.engine;
    const dirty = engine && engine.phase !== "new" && engine.p2mSize > pfn
      ? isDirty(engine.dirtyBitmap, pfn)
      : undefined;
    const generation = simGeneration(session, dom.domid, pfn);
    const header = `pfn 0x${pfn.toString(16)} of domain ${dom.domid}: type ${typeName}` +
      (dirty === undefined ? "" : dirty ? ", dirty" : ", clean") +
      (generation === undefined ? "" : `, simulator write generation ${generation}`);
    return Promise.resolve(reply(`${header}\n${hexDump(bytes, pfn * 4096)}`, {
      pfn,
      type: typeName,
      dirty,
      generation,
      hex: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
    }));
  },
};

function simGeneration(session: ReplSession, domid: number, pfn: number): number | undefined {
  try {
    return session.sim?.pageGeneration(domid, pfn);
  } catch {
    return undefined; // not a page the simulated guest writes
  }
}
