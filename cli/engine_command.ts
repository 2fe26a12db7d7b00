/**
 * What every engine command shares: option parsing with help, one clear
 * line for any error (never a stack trace), exit codes (0 ok, 1 failure,
 * 2 usage), and statistics output.
 *
 * @module
 */

import { shutdownReason } from "../lib/engine/guest_suspend.ts";
import type { SavePhase, SaveProgress, SaveStats } from "../lib/engine/save_session.ts";
import type { HypervisorSession } from "../lib/xen/open.ts";
import { StreamError } from "../lib/errors.ts";
import { XenError } from "../lib/xen/errors.ts";
import { formatHelp, type OptionSpec, parseOptions, UsageError, type Values } from "./options.ts";
import { writeAllSync } from "./output.ts";

/** A parsed engine command line. */
export interface Parsed {
  /** Option values. */
  values: Values;
  /** Positional arguments. */
  positionals: string[];
}

/**
 * Parses `args`, prints help or usage errors, runs `body`, and turns any
 * error into one line on stderr and exit code 1.
 */
export async function runEngineCommand(
  prog: string,
  usage: string,
  description: string,
  specs: Record<string, OptionSpec>,
  args: string[],
  body: (p: Parsed) => Promise<number>,
): Promise<number> {
  const all = {
    ...specs,
    help: { type: "boolean", short: "h", default: false, help: "" } as OptionSpec,
  };
  let parsed: Parsed;
  try {
    parsed = parseOptions(args, all, true);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAllSync(Deno.stderr, `Usage: ${prog} ${usage}\n\n${prog}: error: ${e.message}\n`);
    return 2;
  }
  if (parsed.values.help) {
    writeAllSync(Deno.stdout, formatHelp(`${prog} ${usage}`, description, specs));
    return 0;
  }
  try {
    return await body(parsed);
  } catch (e) {
    writeAllSync(Deno.stderr, `${prog}: ${describeError(e)}\n`);
    return e instanceof RangeError ? 2 : 1;
  }
}

/** One line for any error. */
export function describeError(e: unknown): string {
  if (e instanceof StreamError) return `stream error: ${e.describe()}`;
  if (e instanceof XenError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A human summary of save statistics, for stdout. */
export function formatSaveStats(s: SaveStats & { downtimeMs?: number }): string {
  const lines = [
    `domain ${s.domid}: ${
      s.live ? "live" : "non-live"
    }, policy ${s.policy}, p2m ${s.p2mSize} pfns` +
    (s.walkedPfns < s.p2mSize ? ` (${s.p2mSize - s.walkedPfns} in the hole skipped)` : ""),
    "iter  pages sent  dirtied during   ms",
    ...s.iterations.map((i) =>
      `${String(i.iteration).padStart(4)}  ${String(i.pagesSent).padStart(10)}  ${
        String(i.dirtyCount).padStart(15)
      }  ${i.durationMs.toFixed(0).padStart(4)}`
    ),
  ];
  if (s.stopReason) lines.push(`precopy ended: ${s.stopReason}`);
  if (s.downtime) {
    lines.push(
      `stop-and-copy: ${s.downtime.pages} pages, ${s.downtime.bytes} bytes, ${
        s.downtime.ms.toFixed(1)
      } ms (guest suspending ${s.downtime.suspendMs.toFixed(1)}, pages ${
        s.downtime.pagesMs.toFixed(1)
      }, tail records ${s.downtime.tailMs.toFixed(1)})` +
        (s.downtimeMs !== undefined
          ? `; guest paused ${s.downtimeMs.toFixed(1)} ms until the destination ran`
          : ""),
    );
  }
  lines.push(
    `total: ${s.totalPages} pages, ${s.totalBytes} bytes in ${(s.wallMs / 1000).toFixed(2)} s`,
  );
  return lines.join("\n") + "\n";
}

/** The statistics as JSON (what `--json` prints). */
export function statsJson(s: SaveStats & { downtimeMs?: number }): string {
  return JSON.stringify(
    {
      domid: s.domid,
      live: s.live,
      policy: s.policy,
      p2mSize: s.p2mSize,
      walkedPfns: s.walkedPfns,
      iterations: s.iterations.map((i) => ({
        iteration: i.iteration,
        pagesSent: i.pagesSent,
        pagesDirtied: i.dirtyCount,
        bytes: i.bytesSent,
        durationMs: Math.round(i.durationMs * 1000) / 1000,
      })),
      stopReason: s.stopReason,
      downtime: s.downtime && {
        pages: s.downtime.pages,
        bytes: s.downtime.bytes,
        ms: Math.round(s.downtime.ms * 1000) / 1000,
        suspendMs: Math.round(s.downtime.suspendMs * 1000) / 1000,
        pagesMs: Math.round(s.downtime.pagesMs * 1000) / 1000,
        tailMs: Math.round(s.downtime.tailMs * 1000) / 1000,
        guestPausedMs: s.downtimeMs === undefined
          ? undefined
          : Math.round(s.downtimeMs * 1000) / 1000,
      },
      totalPages: s.totalPages,
      totalBytes: s.totalBytes,
      wallMs: Math.round(s.wallMs * 1000) / 1000,
    },
    null,
    2,
  ) + "\n";
}

/** What a phase is called in messages. */
export function phaseLabel(phase: SavePhase | undefined): string {
  switch (phase) {
    case undefined:
    case "new":
      return "setup";
    case "stopped":
      return "stop-and-copy";
    case "done":
      return "the final handshake";
    default:
      return phase;
  }
}

/** The source guest after a failed or interrupted save, as read back from the hypervisor. */
export interface GuestState {
  /** Domain id. */
  domid: number;
  /** Paused (`XEN_DOMINF_paused`). */
  paused: boolean;
  /** Why the domain is shut down (`suspend`, `crash`...), if it is. */
  shutdown?: string;
  /** Log-dirty mode on (the simulator's own flag; on Xen, the engine's view). */
  logDirty: boolean;
  /**
   * Simulator only: whether the guest was seen writing memory after the
   * cleanup (its write generation advanced within half a second).
   */
  guestWrites?: boolean;
}

/** Reads the state of `domid` back; `engineLogDirty` is the engine's view (real Xen). */
export async function guestState(
  session: HypervisorSession,
  domid: number,
  engineLogDirty: boolean,
): Promise<GuestState> {
  const info = session.hv.domain(domid).info();
  const paused = info.paused;
  const shutdown = info.shutdown ? shutdownReason(info.shutdownCode) : undefined;
  const sim = session.sim;
  if (!sim) return { domid, paused, shutdown, logDirty: engineLogDirty };
  const state: GuestState = { domid, paused, shutdown, logDirty: sim.stats(domid).logDirty };
  if (!paused && !shutdown) {
    const g0 = sim.stats(domid).generation;
    state.guestWrites = false;
    for (let i = 0; i < 25 && !state.guestWrites; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state.guestWrites = sim.stats(domid).generation > g0;
    }
  }
  return state;
}

/** One phrase for a guest state, e.g. "domain 3 running, log-dirty off". */
export function describeGuestState(s: GuestState): string {
  const state = s.shutdown ? `SHUT DOWN (${s.shutdown})` : s.paused ? "PAUSED" : "running";
  return `domain ${s.domid} ${state}, log-dirty ${s.logDirty ? "ON" : "off"}` +
    (s.guestWrites === undefined ? "" : s.guestWrites ? ", guest writing" : ", no guest writes");
}

/**
 * Progress as JSON lines on stderr (`--json`): a `start` line once the
 * command is under way (interrupts from here on clean up and report), then
 * one line per phase or iteration change, for scripts that follow a save.
 * Each carries `ms`, the time since the process started, so a timeline
 * (start-up included) can be read off them.
 */
export function jsonStart(domid: number): void {
  writeAllSync(
    Deno.stderr,
    JSON.stringify({ event: "start", phase: "new", domid, ms: sinceStart() }) + "\n",
  );
}

/** ms since the process started, to the µs. */
function sinceStart(): number {
  return Math.round(performance.now() * 1000) / 1000;
}

/** See {@linkcode jsonStart}. */
export function jsonProgress(): (p: SaveProgress) => void {
  let last = "";
  return (p) => {
    const key = `${p.phase}/${p.iteration}`;
    if (key === last) return;
    last = key;
    writeAllSync(
      Deno.stderr,
      JSON.stringify({
        event: "progress",
        phase: p.phase,
        iteration: p.iteration,
        totalBytes: p.totalBytes,
        ms: sinceStart(),
      }) + "\n",
    );
  };
}

/**
 * Waits for `p` to settle, at most `ms`; resolves to `value` either way
 * (cleanup paths wait for the engine's own unwinding, bounded).
 */
export function settled<T>(p: Promise<unknown>, ms: number, value?: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.then(() => value as T, () => value as T),
    new Promise<T>((r) => timer = setTimeout(() => r(value as T), ms)),
  ]).finally(() => clearTimeout(timer));
}
