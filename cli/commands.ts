/**
 * The table of `xenmig` subcommands: name, one-line summary, entry point.
 * Each command's modules load only when it runs: start-up is what a save
 * or restore in a dom0 pays first (seconds under emulation), and `xen
 * pause` needs none of the stream or engine code.
 *
 * @module
 */

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
    name: "save",
    summary: "Save a domain to a file (live with --live)",
    run: async (a) => (await import("./save.ts")).saveCommand(a),
  },
  {
    name: "restore",
    summary: "Restore a saved domain",
    run: async (a) => (await import("./restore.ts")).restoreCommand(a),
  },
  {
    name: "migrate",
    summary: "Live-migrate a domain to a file, fd, TCP receiver or command",
    run: async (a) => (await import("./migrate.ts")).migrateCommand(a),
  },
  {
    name: "receive",
    summary: "Receive a migrating domain (xl migrate protocol)",
    run: async (a) => (await import("./receive.ts")).receiveCommand(a),
  },
  {
    name: "verify",
    summary: "Verify a migration stream (drop-in for verify-stream-v2, plus --strict and --json)",
    run: async (a) => (await import("./verify.ts")).verifyCommand(a, "xenmig verify"),
  },
  {
    name: "convert",
    summary: "Convert a legacy image to v2 (drop-in for convert-legacy-stream, -w/-g detected)",
    run: async (a) => (await import("./convert.ts")).convertCommand(a, "xenmig convert"),
  },
  {
    name: "xen",
    summary: "List, inspect, pause domains and probe log-dirty through libxenctrl",
    run: async (a) => (await import("./xen.ts")).xenCommand(a),
  },
  {
    name: "repl",
    summary: "Step through a live migration interactively",
    run: async (a) => (await import("./repl.ts")).replCommand(a),
  },
  {
    name: "demo",
    summary: "Live-migrate a simulated guest under load and prove its memory (deno task start)",
    run: async (a) => (await import("./demo.ts")).demoCommand(a),
  },
];
