/**
 * Running the REPL from a script or a pipe: each line is a command; errors
 * are reported and the script goes on; the exit code is 1 if any command
 * failed.  At the end of input a migration still under way is aborted
 * (log-dirty off, guest running, output discarded) and reported as a
 * failure; a guest this console paused is resumed (see `quit!`).
 *
 * @module
 */

import { type OutputStreams, printOutcome } from "./printer.ts";
import type { ReplSession } from "./session.ts";

/** Options of {@linkcode runScript}. */
export interface ScriptOptions {
  /** One JSON object per command. */
  json: boolean;
  /** Where output goes. */
  streams: OutputStreams;
  /** Echo each command (`> step`) before its output, in text mode. */
  echo?: boolean;
}

/** What the end of input is called in `--json` output. */
export const END_OF_INPUT = "(end of input)";

/** Runs `lines` through `session`; resolves to the exit code. */
export async function runScript(
  session: ReplSession,
  lines: AsyncIterable<string> | Iterable<string>,
  options: ScriptOptions,
): Promise<number> {
  let failed = false;
  for await (const line of lines) {
    if (options.echo && !options.json && line.trim() && !line.trim().startsWith("#")) {
      options.streams.out(`> ${line.trim()}\n`);
    }
    const outcome = await session.execute(line);
    if (!outcome) continue;
    printOutcome(outcome, options.json, options.streams);
    if (!outcome.ok) failed = true;
    else if (outcome.reply.exit) return failed ? 1 : 0;
  }
  const active = session.quitProblems().length > 0 && session.migration?.active === true;
  const cleanup = await session.cleanup();
  if (active) failed = true;
  if (cleanup.length) {
    const error = active ? "end of input during a migration" : undefined;
    if (options.json) {
      options.streams.out(
        JSON.stringify({ command: END_OF_INPUT, ok: !active, error, cleanup }) + "\n",
      );
    } else {
      const say = active ? options.streams.err : options.streams.out;
      say(`${error ? `error: ${error}; ` : "end of input: "}${cleanup.join("; ")}\n`);
    }
  }
  return failed ? 1 : 0;
}
