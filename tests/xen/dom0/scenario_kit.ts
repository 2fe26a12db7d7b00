/**
 * What every dom0 scenario works with: its context (log, guest pool,
 * project root) and the small steps scenarios share — judging a guest
 * after an operation, finding new domains, verifying a stream with xenmig.
 *
 * @module
 */

import type { GuestOutcome } from "../common/observations.ts";
import type { CommandRecord } from "../common/protocol.ts";
import type { LibraryDomainRow, XlListRow } from "../common/xl_list.ts";
import { type Guest, type GuestMark, type GuestPool, xlList } from "./guests.ts";
import { type CommandOutcome, type ScenarioLog, sh, waitFor } from "./shell.ts";
import type { XenDomainInfo } from "./xen_library.ts";

/** What a scenario runs with. */
export interface ScenarioContext {
  /** The scenario's dom0 log. */
  log: ScenarioLog;
  /** Test guests. */
  pool: GuestPool;
  /** Where the project is mounted (same path as on the host). */
  projectRoot: string;
  /** Guests the scenario touched (their console tails go into the result). */
  guests: Guest[];
  /** The lab's 9p share (dom0 path). */
  share: string;
}

/** A scenario: collects facts in dom0 for the host to judge. */
export type Scenario = (ctx: ScenarioContext, params: Record<string, unknown>) => Promise<object>;

/** Acquires a guest from the pool and records that the scenario uses it. */
export async function useGuest(ctx: ScenarioContext, type: "pv" | "pvh"): Promise<Guest> {
  const g = await ctx.pool.acquire(type, ctx.log);
  ctx.guests.push(g);
  return g;
}

/** Acquires guests of several types at once (new ones boot in parallel). */
export async function useGuests(
  ctx: ScenarioContext,
  types: ("pv" | "pvh")[],
): Promise<Guest[]> {
  const guests = await Promise.all(types.map((t) => ctx.pool.acquire(t, ctx.log)));
  ctx.guests.push(...guests);
  return guests;
}

/** The part of a command outcome that goes back to the host. */
export function record(o: CommandOutcome): CommandRecord {
  return { cmd: o.cmd, rc: o.rc, seconds: o.seconds, stdout: o.stdout, stderr: o.stderr };
}

/**
 * The guest's integrity and downtime after an operation that started at
 * `mark` and has just ended; `domids` are new domains that may hold it
 * without a console (their mailbox pages are read).
 */
export async function guestOutcome(
  ctx: ScenarioContext,
  guest: Guest,
  mark: GuestMark,
  timeoutSeconds = 60,
  domids: number[] = [],
): Promise<GuestOutcome> {
  const after = await ctx.pool.after(guest, mark, timeoutSeconds, domids);
  const domains = (await xlList(ctx.log)).filter((d) =>
    d.name === guest.name || d.name.startsWith(`${guest.name}--`) || domids.includes(d.domid)
  );
  const mailbox = Object.fromEntries(
    domids.map((d) => [String(d), ctx.pool.mailboxReads.get(d) ?? "not read"]),
  );
  ctx.log.line(
    `guest ${guest.id}: resumed=${after.resumed} passes=${after.integrity.passesAfter} ` +
      `total_bad=${after.integrity.totalBad} max gap ${after.gap.seconds.toFixed(3)} s` +
      (domids.length ? `; mailbox ${JSON.stringify(mailbox)}` : ""),
  );
  return { id: guest.id, ...after, domains, mailbox };
}

/** The domid of the guest's domain (by name), or throws. */
export async function domidOfGuest(ctx: ScenarioContext, guest: Guest): Promise<number> {
  const row = (await xlList(ctx.log)).find((d) => d.name === guest.name);
  if (!row) throw new Error(`guest ${guest.name} has no domain`);
  return row.domid;
}

/** Domains in `after` that were not in `before` (by domid). */
export function newDomains(before: XlListRow[], after: XlListRow[]): XlListRow[] {
  const old = new Set(before.map((d) => d.domid));
  return after.filter((d) => !old.has(d.domid));
}

/** Size of a file, or 0 if it does not exist. */
export function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** Subdirectory of the share for files the host checks (streams). */
export const EXPORT_DIR = "exports";

/**
 * Copies a file to the share for the host to check (xenmig verify runs
 * there: under TCG a Deno verify of a 140 MB stream takes minutes, on the
 * host a fraction of a second).  Returns its path relative to the share.
 */
export async function exportFile(ctx: ScenarioContext, path: string): Promise<string> {
  const rel = `${EXPORT_DIR}/${path.split("/").pop()}`;
  await Deno.mkdir(`${ctx.share}/${EXPORT_DIR}`, { recursive: true });
  // busybox cp copies in small blocks, slow over 9p; dd bs=1M is not.
  const r = await sh(`dd if=${path} of=${ctx.share}/${rel} bs=1M`, ctx.log, {
    timeoutSeconds: 300,
  });
  if (r.rc !== 0) throw new Error(`copying ${path} to the share failed: ${r.err.trim()}`);
  return rel;
}

/** Converts the bindings' domain info to the row `xl list` is compared with. */
export function libraryRow(d: XenDomainInfo): LibraryDomainRow {
  return {
    domid: d.domid,
    totPages: d.totPages,
    onlineVcpus: d.onlineVcpus,
    running: d.running,
    blocked: d.blocked,
    paused: d.paused,
    shutdown: d.shutdown,
    shutdownCode: d.shutdownCode,
    dying: d.dying,
    cpuSeconds: Number(d.cpuTimeNs) / 1e9,
  };
}

let port = 8100;

/** A fresh TCP port on 127.0.0.1 for one migration. */
export function nextPort(): number {
  return port++;
}

/** Waits until something listens on TCP `port` (busybox netstat). */
export async function waitListening(port: number, seconds: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const found = await waitFor(
    () => {
      const tcp = Deno.readTextFileSync("/proc/net/tcp");
      // local_address 0100007F:PORT, state 0A = LISTEN
      return new RegExp(`:${hex} [0-9A-F]{8}:[0-9A-F]{4} 0A `).test(tcp) ? true : undefined;
    },
    seconds,
    200,
  );
  return found === true;
}

/** Destroys the domains in `rows` (cleanup after a scenario). */
export async function destroyDomains(ctx: ScenarioContext, rows: XlListRow[]): Promise<void> {
  for (const d of rows) {
    if (d.domid !== 0) await sh(`xl destroy ${d.domid}`, ctx.log, { timeoutSeconds: 60 });
  }
}
