/**
 * `xenmig repl`: a console that steps through a live migration like a
 * debugger — `start`, `step`, `run`, `until dirty < 500`, look at the dirty
 * bitmap, switch policy, `finish` — on the same engine objects `xenmig
 * migrate` runs to completion.
 *
 * Input: a terminal (line editing, history in
 * `$XDG_STATE_HOME/xenmig/repl_history`, tab completion), `--script FILE`,
 * or commands piped on stdin; `--json` prints one JSON object per command.
 * Without `--to` the stream is discarded (counted, not stored).
 *
 * @module
 */

import { policyByName } from "../lib/engine/policy.ts";
import { parseTarget } from "../lib/engine/transport.ts";
import { onInterrupt } from "../lib/interrupts.ts";
import { parseSimSpec } from "../lib/xen/sim_spec.ts";
import type { Workload } from "../lib/xen/sim_control.ts";
import { runEngineCommand } from "./engine_command.ts";
import { BACKEND_OPTIONS, openBackend, parseDomid } from "./hypervisor.ts";
import { History, historyPath } from "./repl/history.ts";
import { readLines } from "./repl/line_reader.ts";
import { printOutcome, STANDARD_STREAMS } from "./repl/printer.ts";
import { runScript } from "./repl/script_driver.ts";
import { ReplSession } from "./repl/session.ts";
import { runTerminal } from "./repl/terminal_driver.ts";

const SPECS = {
  ...BACKEND_OPTIONS,
  to: {
    type: "string",
    metavar: "FILE|fd:N|tcp://HOST:PORT|'|CMD'",
    help: "Where streams go; two-way channels speak xl's migrate handshake " +
      "(default: discarded, nothing stored)",
  },
  policy: {
    type: "string",
    default: "xen",
    metavar: "xen|downtime[:MS]",
    help: "Policy in force at first (the 'policy' command switches)",
  },
  "keep-source": {
    type: "boolean",
    default: false,
    help: "After 'finish', keep the source paused (not destroyed after a hand-over, " +
      "not resumed on quit)",
  },
  script: { type: "string", metavar: "FILE", help: "Run the commands in FILE, then leave" },
  json: { type: "boolean", default: false, help: "Print one JSON object per command" },
} as const;

function simWorkload(spec: string | undefined): Workload | undefined {
  if (spec === undefined) return undefined;
  const s = parseSimSpec(spec);
  return { rate: s.rate, pattern: s.pattern };
}

/** Runs `xenmig repl`. */
export function replCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig repl",
    "[options] [DOMID]",
    "Step through a live migration interactively: start, step, run, until, policy, " +
      "bitmap, finish ('help' inside lists every command).  Reads a terminal, --script " +
      "FILE, or commands piped on stdin.  Without --to the stream is discarded.",
    SPECS,
    args,
    async ({ values, positionals }) => {
      if (positionals.length > 1) throw new RangeError("expected at most one DOMID");
      const target = values.to ? parseTarget(values.to as string) : undefined;
      const policy = policyByName(values.policy as string);
      const json = values.json as boolean;
      const script = values.script as string | undefined;
      const lines = script === undefined
        ? undefined
        : (await Deno.readTextFile(script)).split("\n");
      using backend = await openBackend(values);
      const domid = positionals.length ? parseDomid(positionals[0], backend) : backend.domid;
      const interactive = lines === undefined && Deno.stdin.isTerminal();
      const streams = STANDARD_STREAMS;
      const session = new ReplSession({
        backend,
        target,
        keepSource: values["keep-source"] as boolean,
        policy,
        workload: simWorkload(values.sim as string | undefined),
        say: json ? undefined : (line) => streams.out(line + "\n"),
        terminalSize: () => (Deno.stdout.isTerminal() ? Deno.consoleSize() : undefined),
        colors: interactive && Deno.stdout.isTerminal() && !Deno.noColor,
      });
      const done = onInterrupt(async () => {
        for (const line of await session.cleanup()) streams.err(`xenmig repl: ${line}\n`);
      });
      try {
        if (interactive && !json) {
          streams.out("xenmig repl: 'help' lists the commands, Ctrl-D leaves.\n");
        }
        if (domid !== undefined) {
          const attached = await session.execute(`attach ${domid}`);
          printOutcome(attached!, json, streams);
          if (!attached!.ok) return 1;
        }
        if (interactive) {
          const path = historyPath();
          const history = path ? await History.load(path) : undefined;
          return await runTerminal(session, { history, json, streams });
        }
        const input = lines ?? readLines(Deno.stdin.readable);
        return await runScript(session, input, { json, streams, echo: !json });
      } finally {
        done();
      }
    },
  );
}
