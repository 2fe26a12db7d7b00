/**
 * How outcomes reach the user: text (replies on stdout, errors as one
 * `error: ...` line on stderr) or `--json` (one object per command on
 * stdout).
 *
 * @module
 */

import { writeAllSync } from "../output.ts";
import { type Outcome, outcomeJson } from "./reply.ts";

/** Where output goes (stdout/stderr by default; tests collect it). */
export interface OutputStreams {
  /** Replies, JSON lines, progress. */
  out(text: string): void;
  /** Errors in text mode. */
  err(text: string): void;
}

/** The process's stdout and stderr. */
export const STANDARD_STREAMS: OutputStreams = {
  out: (t) => writeAllSync(Deno.stdout, t),
  err: (t) => writeAllSync(Deno.stderr, t),
};

/**
 * Prints one outcome.
 *
 * @example
 * ```ts
 * import { printOutcome } from "./printer.ts";
 * import { reply } from "./reply.ts";
 * let out = "";
 * const streams = { out: (t: string) => { out += t; }, err: (t: string) => { out += t; } };
 * printOutcome({ command: "x", ok: false, error: "bad" }, false, streams);
 * printOutcome({ command: "x", ok: true, reply: reply("fine", { n: 1 }) }, true, streams);
 * console.assert(out === 'error: bad\n{"command":"x","ok":true,"n":1}\n');
 * ```
 */
export function printOutcome(outcome: Outcome, json: boolean, streams: OutputStreams): void {
  if (json) {
    streams.out(outcomeJson(outcome) + "\n");
  } else if (!outcome.ok) {
    streams.err(`error: ${outcome.error}\n`);
  } else if (outcome.reply.text) {
    streams.out(outcome.reply.text + "\n");
  }
}
