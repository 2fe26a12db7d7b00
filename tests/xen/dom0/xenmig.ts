/**
 * Running the `xenmig` CLI in dom0 (the `/usr/local/bin/xenmig` wrapper
 * that `init.sh` writes: `deno run -A <project>/cli/main.ts`), and telling
 * "this command does not exist yet" apart from "this command failed".
 *
 * @module
 */

import { BackgroundCommand, type CommandOutcome, type ScenarioLog, sh } from "./shell.ts";

/** Thrown when a scenario needs a xenmig command that does not exist yet. */
export class NotImplementedError extends Error {
  /** The missing command, e.g. `"xenmig save"`. */
  readonly command: string;

  /** `command` is e.g. `"xenmig save"`. */
  constructor(command: string) {
    super(`${command} not implemented yet`);
    this.name = "NotImplementedError";
    this.command = command;
  }
}

/** Whether an outcome is xenmig rejecting an unknown subcommand. */
export function isUnknownCommand(outcome: CommandOutcome): boolean {
  return outcome.rc === 2 && /unknown command/i.test(outcome.err);
}

/** The subcommand of a xenmig argument string (`"save 3 /tmp/x"` → `"save"`). */
function subcommand(args: string): string {
  return args.trim().split(/\s+/)[0];
}

/**
 * Runs `xenmig <args>` (a shell string) to completion.  Throws
 * {@linkcode NotImplementedError} if the subcommand does not exist.
 */
export async function xenmig(
  args: string,
  log: ScenarioLog,
  timeoutSeconds = 300,
): Promise<CommandOutcome> {
  const r = await sh(`xenmig ${args}`, log, { timeoutSeconds });
  if (isUnknownCommand(r)) throw new NotImplementedError(`xenmig ${subcommand(args)}`);
  return r;
}

/** Starts `xenmig <args>` in the background (e.g. a receiver). */
export function xenmigInBackground(args: string, log: ScenarioLog): BackgroundCommand {
  return new BackgroundCommand(`xenmig ${args}`, log);
}

/** Throws {@linkcode NotImplementedError} if a finished background xenmig was an unknown command. */
export function checkImplemented(outcome: CommandOutcome, args: string): void {
  if (isUnknownCommand(outcome)) throw new NotImplementedError(`xenmig ${subcommand(args)}`);
}
