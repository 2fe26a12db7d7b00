/**
 * The table of `xenmig` subcommands: name, one-line summary, entry point.
 *
 * @module
 */

import { demoCommand } from "./demo.ts";
import { verifyCommand } from "./verify.ts";

/** One subcommand. */
export interface Command {
  /** Name on the command line. */
  name: string;
  /** One line for `xenmig help`. */
  summary: string;
  /** Runs it; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Every subcommand, in help order. */
export const COMMANDS: readonly Command[] = [
  {
    name: "verify",
    summary: "Verify a migration stream (drop-in for verify-stream-v2, plus --strict and --json)",
    run: (args) => verifyCommand(args, "xenmig verify"),
  },
  {
    name: "demo",
    summary: "Write a sample HVM stream and verify it (what 'deno task start' runs)",
    run: demoCommand,
  },
];
