#!/usr/bin/env -S deno run -A
/**
 * The `xenmig` command: one executable for every tool, as subcommands.
 *
 * @module
 */

import { writeAllSync } from "./output.ts";
import { COMMANDS } from "./commands.ts";

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `Usage: xenmig <command> [options]\n\nCommands:\n${rows.join("\n")}\n\n` +
    "Run 'xenmig <command> --help' for a command's options.\n";
}

/** Runs `xenmig` with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    writeAllSync(name === undefined ? Deno.stderr : Deno.stdout, usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "version") {
    writeAllSync(Deno.stdout, "xenmig 0.1.0\n");
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    writeAllSync(Deno.stderr, `xenmig: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return await cmd.run(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
