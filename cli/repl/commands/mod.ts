/**
 * The REPL's command table, in `help` order.
 *
 * @module
 */

import type { ReplCommand } from "../command.ts";
import { attachCommand, detachCommand } from "./attach.ts";
import { pauseCommand, unpauseCommand, workloadCommand } from "./guest.ts";
import { evalCommand, forceQuitCommand, helpCommand, quitCommand } from "./meta.ts";
import { policyCommand } from "./policy.ts";
import {
  abortCommand,
  finishCommand,
  runCommand,
  startCommand,
  stepCommand,
  untilCommand,
} from "./stepping.ts";
import {
  bitmapCommand,
  inspectCommand,
  recordsCommand,
  statsCommand,
  statusCommand,
  topCommand,
} from "./views.ts";

/** Every command. */
export const COMMANDS: readonly ReplCommand[] = [
  attachCommand,
  detachCommand,
  startCommand,
  stepCommand,
  runCommand,
  untilCommand,
  policyCommand,
  statsCommand,
  bitmapCommand,
  topCommand,
  inspectCommand,
  recordsCommand,
  statusCommand,
  pauseCommand,
  unpauseCommand,
  finishCommand,
  abortCommand,
  workloadCommand,
  evalCommand,
  helpCommand,
  quitCommand,
  forceQuitCommand,
];

/**
 * The command called `name` (or by an alias).
 *
 * @example
 * ```ts
 * import { findCommand } from "./mod.ts";
 * console.assert(findCommand("exit")?.name === "quit");
 * console.assert(findCommand("frobnicate") === undefined);
 * ```
 */
export function findCommand(name: string): ReplCommand | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
