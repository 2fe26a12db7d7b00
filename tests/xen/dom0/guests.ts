/**
 * Test guests in dom0: creating them with `xl create`, following their
 * workload through xenconsoled's logs (by boot id, across renames,
 * restores and migrations), judging integrity and downtime, and a small
 * pool so scenarios can share a healthy guest instead of booting a new one.
 *
 * @module
 */

import { join } from "node:path";
import {
  addMailboxPage,
  addWorkloadLines,
  type HeartbeatGap,
  type IntegrityVerdict,
  integrityVerdict,
  largestHeartbeatGap,
  lastHeartbeat,
  lastPass,
  PASSES_AFTER,
  type WorkloadLog,
} from "../common/workload_log.ts";
import { parseXlList, type XlListRow } from "../common/xl_list.ts";
import { GuestPageReader } from "./mailbox.ts";
import { type ScenarioLog, sh, waitFor } from "./shell.ts";

/** Where xenconsoled writes guest consoles (`--log-dir`). */
export const CONSOLE_DIR = "/var/log/xen/console";

/** Attempts at booting a guest before giving up. */
export const BOOT_ATTEMPTS = 3;

/** Seconds without a heartbeat after which a guest counts as stuck. */
export const STALL_SECONDS = 30;

/** Seconds from `xl create` until the workload must have run 3 passes. */
export const BOOT_TIMEOUT_SECONDS = 240;

/** Guest type. */
export type GuestType = "pv" | "pvh";

/** Size and workload of the lab's guests. */
export const GUEST_SHAPE = {
  memoryMiB: 128,
  dirtyMiB: 16,
  staticMiB: 16,
  passMs: 250,
  heartbeatMs: 25,
} as const;

/** Console tails keep every line but only every 20th heartbeat. */
function keepInTail(line: string): boolean {
  const hb = line.match(/ WL [0-9a-f]{8} hb (\d+) /);
  return !hb || Number(hb[1]) % 20 === 0;
}

/**
 * Follows every console log in {@linkcode CONSOLE_DIR} incrementally and
 * sorts workload lines by boot id.
 */
export class ConsoleWatcher {
  /** Workload logs by boot id. */
  readonly logs: Map<string, WorkloadLog> = new Map();
  #offsets = new Map<string, number>();
  #partial = new Map<string, string>();
  #tails = new Map<string, string[]>();
  #idsByFile = new Map<string, Set<string>>();
  #dir: string;

  /** Watches `dir` (default {@linkcode CONSOLE_DIR}). */
  constructor(dir: string = CONSOLE_DIR) {
    this.#dir = dir;
  }

  /** Reads what the logs gained since the last call. */
  poll(): void {
    let names: string[];
    try {
      names = [...Deno.readDirSync(this.#dir)].filter((e) => e.isFile).map((e) => e.name);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(this.#dir, name);
      const offset = this.#offsets.get(name) ?? 0;
      let size: number;
      try {
        size = Deno.statSync(path).size;
      } catch {
        continue;
      }
      if (size <= offset) continue;
      using f = Deno.openSync(path);
      f.seekSync(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(size - offset);
      let got = 0;
      while (got < buf.length) {
        const n = f.readSync(buf.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      this.#offsets.set(name, offset + got);
      const text = (this.#partial.get(name) ?? "") +
        new TextDecoder().decode(buf.subarray(0, got));
      // The guest's tty turns "\n" into "\r\n".
      const lines = text.split(/\r*\n/);
      this.#partial.set(name, lines.pop()!);
      const tail = this.#tails.get(name) ?? [];
      tail.push(...lines.filter(keepInTail));
      this.#tails.set(name, tail.slice(-200));
      const ids = this.#idsByFile.get(name) ?? new Set();
      for (const id of addWorkloadLines(this.logs, lines)) ids.add(id);
      this.#idsByFile.set(name, ids);
    }
  }

  /** The workload log of boot `id` (empty until it has printed). */
  log(id: string): WorkloadLog | undefined {
    this.poll();
    return this.logs.get(id);
  }

  /** Last console lines (heartbeats thinned out) of every file where `id` appeared. */
  tailsOf(id: string, lines = 40): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [file, ids] of this.#idsByFile) {
      if (ids.has(id)) out[file] = (this.#tails.get(file) ?? []).slice(-lines);
    }
    return out;
  }

  /** Last console lines of one log file (e.g. `guest-pvh1.log`). */
  tailOfFile(file: string, lines = 40): string[] {
    this.poll();
    return (this.#tails.get(file) ?? []).slice(-lines);
  }

  /** The boot ids that appeared in `file`, in order of first appearance. */
  idsInFile(file: string): string[] {
    this.poll();
    return [...(this.#idsByFile.get(file) ?? [])];
  }
}

/** One test guest: a workload boot, whatever domain it currently runs in. */
export interface Guest {
  /** The domain name it was created with. */
  name: string;
  /** PV or PVH. */
  type: GuestType;
  /** The workload's boot id. */
  id: string;
}

/** A position in a guest's workload log, to judge what happens after it. */
export interface GuestMark {
  /** Last heartbeat sequence number seen. */
  seq: number;
  /** Last pass seen. */
  pass: number;
}

/** What a guest did after an operation. */
export interface GuestAfter {
  /** Integrity over the passes after the mark. */
  integrity: IntegrityVerdict;
  /** Largest heartbeat gap after the mark: the guest-visible downtime. */
  gap: HeartbeatGap;
  /** Whether the required passes happened within the time allowed. */
  resumed: boolean;
}

/** `xl list`, parsed. */
export async function xlList(log?: ScenarioLog): Promise<XlListRow[]> {
  const r = await sh("xl list", log, { timeoutSeconds: 30 });
  return parseXlList(r.out);
}

/** The domid of domain `name`, or null. */
export async function domidOf(name: string, log?: ScenarioLog): Promise<number | null> {
  const row = (await xlList(log)).find((d) => d.name === name);
  return row ? row.domid : null;
}

/** Creates, tracks and judges test guests. */
export class GuestPool {
  /** The console watcher all guests share. */
  readonly consoles: ConsoleWatcher = new ConsoleWatcher();
  #counter = 0;
  #idle = new Map<GuestType, Guest>();
  #pages?: GuestPageReader | string;
  /** The last mailbox read of each domain: what it showed, or why it failed. */
  readonly mailboxReads: Map<number, string> = new Map();
  #firstReads = new Map<string, { seq: number; pass: number; t: number }>();

  /** Writes the `xl` config of a guest. */
  static config(name: string, type: GuestType): string {
    const s = GUEST_SHAPE;
    return [
      `name = "${name}"`,
      `type = "${type}"`,
      `kernel = "/guest/kernel"`,
      `ramdisk = "/guest/initrd.cpio.gz"`,
      `extra = "console=hvc0 loglevel=4 wl_dirty_mb=${s.dirtyMiB} wl_static_mb=${s.staticMiB} ` +
      `wl_pass_ms=${s.passMs} wl_hb_ms=${s.heartbeatMs}"`,
      `memory = ${s.memoryMiB}`,
      `maxmem = ${s.memoryMiB}`,
      `vcpus = 1`,
      // Keep a failed guest for inspection: a triple fault is a "reboot",
      // which xl would otherwise answer by re-creating the domain.
      `on_crash = "preserve"`,
      `on_reboot = "preserve"`,
      // Xen emulates the TSC on this TCG CPU (no invariant TSC), and its
      // RDTSCP emulation fails under TCG's SVM: a PVH kernel then hangs.
      ...(type === "pvh" ? [`tsc_mode = "native"`] : []),
      "",
    ].join("\n");
  }

  /**
   * Boots a new guest and waits until its workload has run 3 passes.  A
   * boot that fails (under TCG a PVH kernel occasionally triple-faults
   * while booting) is destroyed and retried, at most {@linkcode BOOT_ATTEMPTS}
   * times in all; booting a known-good guest is the lab's business, not
   * the product's.
   */
  async create(type: GuestType, log: ScenarioLog): Promise<Guest> {
    const failures: string[] = [];
    for (let attempt = 1; attempt <= BOOT_ATTEMPTS; attempt++) {
      const name = `${type}${++this.#counter}`;
      try {
        return await this.#boot(name, type, log);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        failures.push(`${name}: ${why}`);
        log.line(`guest boot failed (attempt ${attempt}/${BOOT_ATTEMPTS}): ${why}`);
        log.block(
          `console of ${name}`,
          this.consoles.tailOfFile(`guest-${name}.log`, 15).join("\n"),
        );
        await this.destroy({ name, type, id: "" }, log);
      }
    }
    throw new Error(`cannot boot a ${type} guest:\n  ${failures.join("\n  ")}`);
  }

  async #boot(name: string, type: GuestType, log: ScenarioLog): Promise<Guest> {
    const cfg = `/etc/xen/${name}.cfg`;
    await Deno.writeTextFile(cfg, GuestPool.config(name, type));
    const r = await sh(`xl create ${cfg}`, log, { timeoutSeconds: 300 });
    // xl's domain-monitoring child has been seen to abort after a good
    // create: judge by the domain, not by xl's exit code.
    if ((await domidOf(name, log)) === null) {
      throw new Error(`xl create failed (rc=${r.rc}): ${r.err.trim().split("\n").pop()}`);
    }
    const file = `guest-${name}.log`;
    let polls = 0;
    const booted = await waitFor(
      async () => {
        const id = this.consoles.idsInFile(file).at(-1);
        const p = id ? lastPass(this.consoles.log(id)!) : undefined;
        if (id && p && p.pass >= 3) return { id };
        // Every few seconds: has the domain crashed or shut down meanwhile?
        if (++polls % 20 === 0) {
          const row = (await xlList()).find((d) => d.name === name);
          if (!row) return { error: "the domain disappeared" };
          if (row.state[3] === "s") {
            return {
              error: `the domain shut down while booting (${row.state})`,
            };
          }
        }
        return undefined;
      },
      BOOT_TIMEOUT_SECONDS,
      250,
    );
    if (!booted) {
      throw new Error(`no workload running within ${BOOT_TIMEOUT_SECONDS} s of xl create`);
    }
    if ("error" in booted) throw new Error(booted.error);
    log.line(`guest ${name} (${type}, workload ${booted.id}) running`);
    return { name, type, id: booted.id };
  }

  /**
   * A healthy guest of `type`: the idle one if it still runs cleanly
   * (domain exists and is not paused, heartbeat advancing, no damage),
   * else a new one (the old one destroyed).
   */
  async acquire(type: GuestType, log: ScenarioLog): Promise<Guest> {
    const idle = this.#idle.get(type);
    this.#idle.delete(type);
    if (idle) {
      const problem = await this.health(idle, log);
      if (!problem) {
        log.line(`reusing guest ${idle.name} (${idle.id})`);
        return idle;
      }
      log.line(`not reusing guest ${idle.name}: ${problem}`);
      await this.destroy(idle, log);
    }
    return await this.create(type, log);
  }

  /** Hands a guest back for later scenarios ({@linkcode acquire} checks its health first). */
  release(guest: Guest): void {
    this.#idle.set(guest.type, guest);
  }

  /** Why a guest is not healthy, or null if it is. */
  async health(guest: Guest, log: ScenarioLog): Promise<string | null> {
    const row = (await xlList(log)).find((d) => d.name === guest.name);
    if (!row) return `no domain named ${guest.name}`;
    if (row.state[2] === "p") return "paused";
    if (row.state[3] === "s") return `shut down (${row.state})`;
    const before = this.mark(guest).seq;
    const beating = await waitFor(() => (this.mark(guest).seq > before ? true : undefined), 5, 200);
    if (!beating) return "no heartbeat for 5 s";
    const last = lastPass(this.consoles.log(guest.id)!);
    if (last && last.totalBad > 0) return `workload found ${last.totalBad} damaged pages`;
    return null;
  }

  /** The current position in a guest's workload log. */
  mark(guest: Guest): GuestMark {
    const log = this.consoles.log(guest.id);
    return {
      seq: (log && lastHeartbeat(log)?.seq) ?? -1,
      pass: (log && lastPass(log)?.pass) ?? 0,
    };
  }

  /**
   * Judges the guest after an operation that started at `start` and has
   * just ended: waits until its workload has completed
   * {@linkcode PASSES_AFTER} passes after *now* (passes logged while a live
   * operation ran on the source do not count), then judges integrity over
   * those passes and the largest heartbeat gap since `start`.
   *
   * `domids` are domains that may hold the guest without a console (e.g.
   * built by xenmig without xenstore entries): their mailbox pages are read
   * too.
   */
  async after(
    guest: Guest,
    start: GuestMark,
    timeoutSeconds = 60,
    domids: number[] = [],
  ): Promise<GuestAfter> {
    this.readMailboxes(guest, domids);
    const end = this.mark(guest);
    let beat = { seq: end.seq, at: performance.now() };
    const done = await waitFor(
      () => {
        this.readMailboxes(guest, domids);
        const log = this.consoles.log(guest.id);
        const p = log && lastPass(log);
        if (p && p.pass >= end.pass + PASSES_AFTER) return true;
        // A guest that runs beats every 25 ms: after STALL_SECONDS of
        // silence it is stuck, and waiting longer only delays the verdict.
        const seq = this.mark(guest).seq;
        if (seq > beat.seq) beat = { seq, at: performance.now() };
        return performance.now() - beat.at > STALL_SECONDS * 1000 ? false : undefined;
      },
      timeoutSeconds,
      250,
    );
    const log = this.consoles.log(guest.id)!;
    return {
      integrity: integrityVerdict(log, end.pass, PASSES_AFTER),
      gap: largestHeartbeatGap(log, Math.max(0, start.seq)),
      resumed: done === true,
    };
  }

  /**
   * Adds the mailbox pages of `domids` (where they hold this guest) to its
   * log, and notes in {@linkcode mailboxReads} what each showed since the
   * first read (whether the workload advanced there).
   */
  readMailboxes(guest: Guest, domids: number[]): void {
    const gfn = this.consoles.log(guest.id)?.mailboxPfn;
    if (!domids.length) return;
    if (gfn === undefined) {
      for (const d of domids) this.mailboxReads.set(d, "the workload printed no mailbox gfn");
      return;
    }
    if (this.#pages === undefined) this.#pages = GuestPageReader.open();
    for (const domid of domids) {
      if (typeof this.#pages === "string") {
        this.mailboxReads.set(domid, this.#pages);
        continue;
      }
      const page = this.#pages.read(domid, gfn);
      const id = page && addMailboxPage(this.consoles.logs, page);
      if (!id) {
        const where = `gfn 0x${gfn.toString(16)}`;
        this.mailboxReads.set(domid, page ? `${where} holds no mailbox` : `cannot map ${where}`);
        continue;
      }
      const log = this.consoles.logs.get(id)!;
      const now = { seq: lastHeartbeat(log)?.seq ?? -1, pass: lastPass(log)?.pass ?? 0 };
      const key = `${domid}/${id}`;
      const first = this.#firstReads.get(key) ?? { ...now, t: performance.now() };
      this.#firstReads.set(key, first);
      const seconds = ((performance.now() - first.t) / 1000).toFixed(0);
      this.mailboxReads.set(
        domid,
        `workload ${id}: heartbeat ${first.seq}→${now.seq}, pass ${first.pass}→${now.pass} ` +
          `in ${seconds} s${now.seq === first.seq && seconds !== "0" ? " (frozen)" : ""}`,
      );
    }
  }

  /** Destroys the guest's domain (and an `xl migrate` receiver's `NAME--incoming`). */
  async destroy(guest: Guest, log: ScenarioLog): Promise<void> {
    for (const d of await xlList(log)) {
      if (d.domid !== 0 && (d.name === guest.name || d.name.startsWith(`${guest.name}--`))) {
        await sh(`xl destroy ${d.domid}`, log, { timeoutSeconds: 60 });
      }
    }
    if (this.#idle.get(guest.type) === guest) this.#idle.delete(guest.type);
  }

  /** Console tails of a guest, by log file. */
  tails(guest: Guest): Record<string, string[]> {
    return this.consoles.tailsOf(guest.id);
  }
}
