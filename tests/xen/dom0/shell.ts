/**
 * Running shell commands in dom0 for a scenario: each in its own process
 * group (so a timeout kills the whole pipeline), timed, with its output
 * kept and written to the scenario's log.
 *
 * @module
 */

import { appendFileSync } from "node:fs";
import type { CommandRecord } from "../common/protocol.ts";

/** Seconds since dom0 booted (`/proc/uptime`). */
export function uptime(): number {
  return Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
}

/** The log of one scenario: a file on the share, and the console. */
export class ScenarioLog {
  /** Path of the log file. */
  readonly path: string;
  #t0 = performance.now();

  /** Starts a log at `path` (truncating it). */
  constructor(path: string) {
    this.path = path;
    Deno.writeTextFileSync(path, "");
  }

  /** Appends one line, prefixed with seconds since the scenario started. */
  line(text: string): void {
    const t = ((performance.now() - this.#t0) / 1000).toFixed(2).padStart(7);
    appendFileSync(this.path, `${t} ${text}\n`);
  }

  /** Appends a block of output, indented. */
  block(title: string, text: string): void {
    if (!text.trim()) return;
    appendFileSync(this.path, `        ${title}:\n${text.replace(/^/gm, "          | ")}\n`);
  }
}

/** A command's full result (the record keeps only the ends of the output). */
export interface CommandOutcome extends CommandRecord {
  /** All of stdout. */
  out: string;
  /** All of stderr. */
  err: string;
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

/** A command running in the background. */
export class BackgroundCommand {
  /** The command line. */
  readonly cmd: string;
  #child: Deno.ChildProcess;
  #t0 = performance.now();
  #output: Promise<Deno.CommandOutput>;
  #log?: ScenarioLog;
  #timedOut = false;

  /** Starts `cmd` with `sh -c` in a new session. */
  constructor(cmd: string, log?: ScenarioLog, stdin?: string) {
    this.cmd = cmd;
    this.#log = log;
    log?.line(`$ ${cmd}${stdin === undefined ? "" : " <<input"}`);
    this.#child = new Deno.Command("setsid", {
      args: ["sh", "-c", cmd],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = this.#child.stdin.getWriter();
      w.write(new TextEncoder().encode(stdin)).then(() => w.close()).catch(() => {});
    }
    this.#output = this.#child.output();
  }

  /** Kills the command's whole process group. */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for it (killing it after `timeoutSeconds`) and logs the outcome. */
  async wait(timeoutSeconds: number): Promise<CommandOutcome> {
    const timer = setTimeout(() => {
      this.#timedOut = true;
      this.kill();
    }, timeoutSeconds * 1000);
    const out = await this.#output;
    clearTimeout(timer);
    const seconds = (performance.now() - this.#t0) / 1000;
    const dec = new TextDecoder();
    const full = { out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
    const rc = this.#timedOut ? -1 : out.code;
    this.#log?.line(
      `  rc=${rc}${this.#timedOut ? ` (killed after ${timeoutSeconds} s)` : ""} in ${
        seconds.toFixed(2)
      } s: ${this.cmd}`,
    );
    this.#log?.block("stdout", tail(full.out, 40));
    this.#log?.block("stderr", tail(full.err, 40));
    return {
      cmd: this.cmd,
      rc,
      seconds,
      stdout: tail(full.out, 30),
      stderr: tail(full.err, 30),
      ...full,
    };
  }
}

/** Runs `cmd` with `sh -c`, killing it after `timeoutSeconds`. */
export function sh(
  cmd: string,
  log?: ScenarioLog,
  options: { timeoutSeconds?: number; stdin?: string } = {},
): Promise<CommandOutcome> {
  return new BackgroundCommand(cmd, log, options.stdin).wait(options.timeoutSeconds ?? 120);
}

/** Single-quotes `s` for `sh`. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than
 * undefined (returned) or `timeoutSeconds` pass (undefined).
 */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutSeconds: number,
  intervalMs = 200,
): Promise<T | undefined> {
  const deadline = performance.now() + timeoutSeconds * 1000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}
