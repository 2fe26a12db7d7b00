/**
 * Reading the guest workload's console lines (`tests/xen/guest/workload.c`):
 * every line is `WL <id> <event> ...`, `<id>` being random per guest boot,
 * so one guest can be followed across console logs whatever its domain is
 * called after a restore or migration.
 *
 * The workload also keeps a "mailbox" page with the same facts, which dom0
 * reads by mapping the guest's memory when the guest has no console (a
 * domain built without xenstore entries): {@linkcode addMailboxPage}.
 *
 * Pure functions: used by the dom0 agent and unit-tested on the host.
 *
 * @module
 */

/** One heartbeat: sequence number and CLOCK_BOOTTIME seconds. */
export interface Heartbeat {
  /** Sequence number (from 0 at guest boot). */
  seq: number;
  /** CLOCK_BOOTTIME, seconds. */
  t: number;
}

/** One dirty pass and its integrity check. */
export interface DirtyPass {
  /** Pass number (from 1). */
  pass: number;
  /** Damaged pages of the dirty region found by this pass. */
  bad: number;
  /** Damaged pages of the static region found by this pass (checked every few passes). */
  staticBad: number;
  /** Damaged pages found since boot. */
  totalBad: number;
  /** CLOCK_BOOTTIME at the end of the pass, seconds. */
  t: number;
}

/** Everything one guest boot has logged so far. */
export interface WorkloadLog {
  /** The boot id. */
  id: string;
  /** The `start` line's parameters, e.g. `{ dirty_mb: 16 }`. */
  params: Record<string, number>;
  /** Sampled guest frame numbers of the dirty region. */
  dirtyPfns: number[];
  /** Sampled guest frame numbers of the static region. */
  staticPfns: number[];
  /** Guest frame number of the mailbox page (undefined before the line). */
  mailboxPfn?: number;
  /** Heartbeats by sequence number. */
  heartbeats: Map<number, Heartbeat>;
  /** Passes by number. */
  passes: Map<number, DirtyPass>;
  /** `corrupt` lines, verbatim. */
  corruption: string[];
}

const LINE = /WL ([0-9a-f]{8}) (\w+)([^\r\n]*)/;

/** A fresh, empty log for boot `id`. */
export function emptyWorkloadLog(id: string): WorkloadLog {
  return {
    id,
    params: {},
    dirtyPfns: [],
    staticPfns: [],
    heartbeats: new Map(),
    passes: new Map(),
    corruption: [],
  };
}

/**
 * Adds console lines to per-boot logs (creating them as ids appear);
 * lines that are not the workload's are ignored.  Returns the ids seen.
 *
 * @example
 * ```ts
 * import { addWorkloadLines } from "./workload_log.ts";
 * const logs = new Map();
 * addWorkloadLines(logs, [
 *   "[2026-01-01 00:00:00] WL 0000abcd hb 7 12.500000",
 *   "WL 0000abcd pass 3 bad=0 static_bad=0 total_bad=0 ms=12 t=12.6",
 * ]);
 * console.log(logs.get("0000abcd").heartbeats.get(7).t); // 12.5
 * ```
 */
export function addWorkloadLines(
  logs: Map<string, WorkloadLog>,
  lines: Iterable<string>,
): string[] {
  const seen = new Set<string>();
  for (const line of lines) {
    const m = line.match(LINE);
    if (!m) continue;
    const [, id, event, rest] = m;
    let log = logs.get(id);
    if (!log) logs.set(id, log = emptyWorkloadLog(id));
    seen.add(id);
    // xenconsoled sometimes glues its next timestamp to the end of a
    // line: read numbers with patterns, never by splitting alone.
    const words = rest.trim().split(/\s+/);
    const kv = Object.fromEntries(
      [...rest.matchAll(/(\w+)=(-?\d+(?:\.\d+)?)/g)].map((m) => [m[1], Number(m[2])]),
    );
    switch (event) {
      case "start":
        log.params = kv;
        break;
      case "pfns": {
        const pfns = words.slice(1).filter((h) => /^[0-9a-f]+$/.test(h)).map((h) =>
          parseInt(h, 16)
        );
        if (words[0] === "dirty") log.dirtyPfns = pfns;
        else if (words[0] === "static") log.staticPfns = pfns;
        break;
      }
      case "hb": {
        const hb = rest.match(/^ (\d+) (\d+\.\d+)/);
        if (hb) log.heartbeats.set(Number(hb[1]), { seq: Number(hb[1]), t: Number(hb[2]) });
        break;
      }
      case "pass": {
        const pass = Number(rest.match(/^ (\d+) /)?.[1]);
        if (!Number.isInteger(pass) || !("total_bad" in kv) || !("t" in kv)) break;
        log.passes.set(pass, {
          pass,
          bad: kv.bad,
          staticBad: kv.static_bad,
          totalBad: kv.total_bad,
          t: kv.t,
        });
        break;
      }
      case "mailbox": {
        const gfn = rest.match(/^ ([0-9a-f]+)/);
        if (gfn) log.mailboxPfn = parseInt(gfn[1], 16);
        break;
      }
      case "corrupt":
        log.corruption.push(line.slice(line.indexOf("WL ")));
        break;
    }
  }
  return [...seen];
}

/** The mailbox page's magic number, "XMIGMBOX". */
export const MAILBOX_MAGIC = 0x584d49474d424f58n;
/** Word offsets in the mailbox page (see `guest/workload.c`). */
const MBOX = { id: 1, totalBad: 2, hb: 8, hbSlots: 384, pass: 392 } as const;
const PASS_SLOTS = (512 - MBOX.pass) / 2;
const US_MASK = (1n << 40n) - 1n;

/**
 * Adds what a mailbox page holds (the last 384 heartbeats and 60 passes) to
 * the log of its boot; returns the boot id, or null if `page` is not a
 * mailbox.  A pass's damage count is the total known when it was written.
 *
 * @example
 * ```ts
 * import { addMailboxPage, MAILBOX_MAGIC } from "./workload_log.ts";
 * const page = new DataView(new ArrayBuffer(4096));
 * page.setBigUint64(0, MAILBOX_MAGIC, true);
 * page.setBigUint64(8, 0xabcdn, true);
 * page.setBigUint64(8 * (8 + 5), (5n << 40n) | 2_500_000n, true); // hb 5 at 2.5 s
 * const logs = new Map();
 * console.log(addMailboxPage(logs, new Uint8Array(page.buffer))); // "0000abcd"
 * console.log(logs.get("0000abcd").heartbeats.get(5).t); // 2.5
 * ```
 */
export function addMailboxPage(logs: Map<string, WorkloadLog>, page: Uint8Array): string | null {
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const word = (i: number) => v.getBigUint64(8 * i, true);
  if (page.byteLength < 4096 || word(0) !== MAILBOX_MAGIC) return null;
  const id = Number(word(MBOX.id)).toString(16).padStart(8, "0");
  let log = logs.get(id);
  if (!log) logs.set(id, log = emptyWorkloadLog(id));
  for (let i = 0; i < MBOX.hbSlots; i++) {
    const w = word(MBOX.hb + i);
    if (w === 0n) continue;
    const low = Number(w >> 40n);
    // The slot holds the low 24 bits of the sequence number; take the
    // full number closest to what the console (or the last read) showed.
    const seq = widen(low, lastHeartbeat(log)?.seq ?? 0);
    if (!log.heartbeats.has(seq)) log.heartbeats.set(seq, { seq, t: Number(w & US_MASK) / 1e6 });
  }
  for (let i = 0; i < PASS_SLOTS; i++) {
    const pass = Number(word(MBOX.pass + 2 * i));
    const w = word(MBOX.pass + 2 * i + 1);
    if (pass === 0 || log.passes.has(pass)) continue;
    const totalBad = Number(w >> 40n);
    log.passes.set(pass, { pass, bad: 0, staticBad: 0, totalBad, t: Number(w & US_MASK) / 1e6 });
  }
  return id;
}

/** The number whose low 24 bits are `low` closest to `near`. */
function widen(low: number, near: number): number {
  const base = near - (near % 0x1000000);
  const candidates = [base - 0x1000000, base, base + 0x1000000].map((b) => b + low);
  return candidates.filter((c) => c >= 0).reduce((a, b) =>
    Math.abs(b - near) < Math.abs(a - near) ? b : a
  );
}

/** The last heartbeat, or undefined before the first. */
export function lastHeartbeat(log: WorkloadLog): Heartbeat | undefined {
  let last: Heartbeat | undefined;
  for (const hb of log.heartbeats.values()) if (!last || hb.seq > last.seq) last = hb;
  return last;
}

/** The last pass, or undefined before the first. */
export function lastPass(log: WorkloadLog): DirtyPass | undefined {
  let last: DirtyPass | undefined;
  for (const p of log.passes.values()) if (!last || p.pass > last.pass) last = p;
  return last;
}

/** The largest heartbeat gap in a window, and where it was. */
export interface HeartbeatGap {
  /** Largest CLOCK_BOOTTIME difference between consecutive heartbeats, seconds. */
  seconds: number;
  /** Sequence number of the heartbeat after the gap. */
  afterSeq: number;
  /** Heartbeats in the window. */
  count: number;
  /** Sequence numbers missing in the window (lost console lines). */
  missing: number;
}

/**
 * The largest gap between consecutive heartbeats with `seq >= fromSeq` (and
 * `<= toSeq`): the guest-visible downtime of an operation bracketed by them.
 *
 * @example
 * ```ts
 * import { addWorkloadLines, largestHeartbeatGap } from "./workload_log.ts";
 * const logs = new Map();
 * addWorkloadLines(logs, ["WL 00000001 hb 0 1.00", "WL 00000001 hb 1 1.03", "WL 00000001 hb 2 2.53"]);
 * console.log(largestHeartbeatGap(logs.get("00000001"), 0).seconds); // 1.5
 * ```
 */
export function largestHeartbeatGap(
  log: WorkloadLog,
  fromSeq: number,
  toSeq = Infinity,
): HeartbeatGap {
  const beats = [...log.heartbeats.values()]
    .filter((h) => h.seq >= fromSeq && h.seq <= toSeq)
    .sort((a, b) => a.seq - b.seq);
  let gap = { seconds: 0, afterSeq: -1, count: beats.length, missing: 0 };
  for (let i = 1; i < beats.length; i++) {
    gap.missing += beats[i].seq - beats[i - 1].seq - 1;
    const dt = beats[i].t - beats[i - 1].t;
    if (dt > gap.seconds) gap = { ...gap, seconds: dt, afterSeq: beats[i].seq };
  }
  return gap;
}

/**
 * Workload passes after an operation that prove the guest runs on; 8 or
 * more include a check of the static region (every 8th pass).
 */
export const PASSES_AFTER = 9;

/** The integrity verdict over the passes after a given pass. */
export interface IntegrityVerdict {
  /** Passes completed after `afterPass`. */
  passesAfter: number;
  /** Damaged pages found since boot, at the last pass. */
  totalBad: number;
  /** The guest's own `corrupt` lines. */
  corruption: string[];
  /** No damage and at least the required passes. */
  ok: boolean;
}

/**
 * Whether memory survived: at least `minPasses` passes after `afterPass`
 * (the static region is checked every 8th pass, so 8 or more include one
 * such check) and no damaged page since boot.
 */
export function integrityVerdict(
  log: WorkloadLog,
  afterPass: number,
  minPasses: number,
): IntegrityVerdict {
  const last = lastPass(log);
  const passesAfter = last ? Math.max(0, last.pass - afterPass) : 0;
  const totalBad = last?.totalBad ?? 0;
  return {
    passesAfter,
    totalBad,
    corruption: log.corruption.slice(0, 8),
    ok: passesAfter >= minPasses && totalBad === 0 && log.corruption.length === 0,
  };
}
