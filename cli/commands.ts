/**
 * The table of `xenmig` subcommands: name, one-line summary, entry point.
 *
 * @module
 */

import { convertCommand } from "./convert.ts";
import { demoCommand } from "./demo.ts";
import { migrateCommand } from "./migrate.ts";
import { receiveCommand } from "./receive.ts";
import { replCommand } from "./repl.ts";
import { restoreCommand } from "./restore.ts";
import { saveCommand } from "./save.ts";
import { verifyCommand } from "./verify.ts";
import { xenCommand } from "./xen.ts";

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
  { name: "save", summary: "Save a domain to a file (live with --live)", run: saveCommand },
  { name: "restore", summary: "Restore a saved domain", run: restoreCommand },
  {
    name: "migrate",
    summary: "Live-migrate a domain to a file, fd, TCP receiver or command",
    run: migrateCommand,
  },
  {
    name: "receive",
    summary: "Receive a migrating domain (xl migrate protocol)",
    run: receiveCommand,
  },
  {
    name: "verify",
    summary: "Verify a migration stream (drop-in for verify-stream-v2, plus --strict and --json)",
    run: (args) => verifyCommand(args, "xenmig verify"),
  },
  {
    name: "convert",
    summary: "Convert a legacy image to v2 (drop-in for convert-legacy-stream, -w/-g detected)",
    run: (args) => convertCommand(args, "xenmig convert"),
  },
  {
    name: "xen",
    summary: "List, inspect, pause domains and probe log-dirty through libxenctrl",
    run: xenCommand,
  },
  { name: "repl", summary: "Step through a live migration interactively", run: replCommand },
  {
    name: "demo",
    summary: "Live-migrate a simulated guest under load and prove its memory (deno task start)",
    run: demoCommand,
  },
];
