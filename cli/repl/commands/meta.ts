/**
 * The console itself: `help`, `eval` (and its `.` shorthand), `quit` and
 * `quit!`.
 *
 * @module
 */

import type { ReplCommand } from "../command.ts";
import { ReplError, reply } from "../reply.ts";
import type { ReplSession } from "../session.ts";
import { compileUserCode, UserCodeError } from "../user_code.ts";

/** The names `eval` code can use, and what each is. */
export const EVAL_BINDINGS: Readonly<Record<string, string>> = {
  engine: "the SaveSession (phase, stats, dirtyBitmap, recentRecords, decide(), ...)",
  domain: "the attached Domain (info(), pause(), logDirty, ...)",
  stats: "engine.stats: SaveStats of the migration",
  s: "engine.precopyStats(): what the policy sees",
  hv: "the Hypervisor",
  sim: "the simulator's controls (sim only)",
  session: "this REPL session",
};

function bindingValues(session: ReplSession): unknown[] {
  const engine = session.migration?.engine;
  let domain;
  try {
    domain = session.domid === undefined ? undefined : session.requireDomain("eval");
  } catch {
    domain = undefined;
  }
  const values: Record<string, unknown> = {
    engine,
    domain,
    stats: engine?.stats,
    s: engine?.precopyStats(),
    hv: session.hv,
    sim: session.sim,
    session,
  };
  return Object.keys(EVAL_BINDINGS).map((k) => values[k]);
}

/** A JSON-safe copy of `v`, or undefined when it has none (functions, cycles, huge). */
function jsonValue(v: unknown): unknown {
  try {
    const text = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
    return text === undefined || text.length > 1 << 20 ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `eval <expression>` and `.<expression>`. */
export const evalCommand: ReplCommand = {
  name: "eval",
  usage: "eval <expression>   (or .<expression>)",
  summary: "Evaluate JavaScript/TypeScript with engine, domain, stats bound",
  details: [
    "An expression (await allowed), or statements ending in 'return'.  Bound names:",
    ...Object.entries(EVAL_BINDINGS).map(([k, v]) => `  ${k.padEnd(8)}${v}`),
    "e.g.  .engine.phase    eval stats.iterations.map((i) => i.dirtyCount)",
    "      eval domain.info().paused",
  ].join("\n"),
  complete: (session, before, partial) => completeEval(session, before, partial),
  async run(session, _args, rest) {
    let fn;
    try {
      fn = await compileUserCode(rest, Object.keys(EVAL_BINDINGS), {
        async: true,
        statements: true,
      });
    } catch (e) {
      if (e instanceof UserCodeError) throw new ReplError(`eval: ${e.message}`);
      throw e;
    }
    let value: unknown;
    try {
      value = await fn(...bindingValues(session));
    } catch (e) {
      throw new ReplError(
        `eval: ${e instanceof Error ? `${e.name}: ${e.message}` : `threw ${Deno.inspect(e)}`}`,
      );
    }
    const inspect = Deno.inspect(value, { colors: session.colors, depth: 4, iterableLimit: 64 });
    return reply(inspect, {
      value: jsonValue(value),
      inspect: Deno.inspect(value, { colors: false, depth: 4, iterableLimit: 64 }),
    });
  },
};

/** Completes `name.prop.prop` paths over the bound names (property reads only). */
export function completeEval(
  session: ReplSession,
  _before: readonly string[],
  partial: string,
): string[] {
  const m = /([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\.?([A-Za-z_$][\w$]*)?$/.exec(partial);
  if (!m) return Object.keys(EVAL_BINDINGS);
  const path = m[1].split(".");
  const endsWithDot = partial.endsWith(".");
  const stem = endsWithDot ? path : path.slice(0, -1);
  const prefix = endsWithDot ? "" : path[path.length - 1];
  const lead = partial.slice(0, partial.length - prefix.length);
  if (stem.length === 0) {
    return Object.keys(EVAL_BINDINGS).filter((k) => k.startsWith(prefix)).map((k) => lead + k);
  }
  const values = bindingValues(session);
  const names = Object.keys(EVAL_BINDINGS);
  if (!names.includes(stem[0])) return [];
  let obj = values[names.indexOf(stem[0])];
  for (const key of stem.slice(1)) {
    if (obj === null || obj === undefined) return [];
    try {
      obj = (obj as Record<string, unknown>)[key];
    } catch {
      return [];
    }
  }
  if (obj === null || obj === undefined) return [];
  const keys = new Set<string>();
  for (
    let o: object | null = Object(obj);
    o && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k !== "constructor" && !k.startsWith("#")) keys.add(k);
    }
  }
  return [...keys].filter((k) => k.startsWith(prefix) && /^[A-Za-z_$][\w$]*$/.test(k)).sort().map((
    k,
  ) => lead + k);
}

async function quit(session: ReplSession, force: boolean) {
  const problems = session.quitProblems();
  if (problems.length && !force) {
    const asked = session.confirm(
      `${problems.join("; ")}. Clean up (abort, resume the guest) and quit? [y/N] `,
    );
    if (!asked || !(await asked)) {
      throw new ReplError(
        `quit: ${problems.join("; ")}: 'abort' / 'unpause' first, or 'quit!' to clean up and quit`,
      );
    }
  }
  const cleanup = await session.cleanup();
  return { ...reply(cleanup.join("\n"), { cleanup }), exit: true };
}

/** `quit`. */
export const quitCommand: ReplCommand = {
  name: "quit",
  aliases: ["exit"],
  usage: "quit",
  summary: "Leave (refused, or asked, while a migration is active or the guest held paused)",
  details: "'quit!' cleans up without asking: aborts an active migration (log-dirty off, guest\n" +
    "running, output discarded) and resumes what this console paused (not a source kept\n" +
    "with --keep-source, nor one whose destination may be running).",
  run: (session) => quit(session, false),
};

/** `quit!`. */
export const forceQuitCommand: ReplCommand = {
  name: "quit!",
  aliases: ["exit!"],
  usage: "quit!",
  summary: "Clean up and leave, without asking",
  details: quitCommand.details,
  run: (session) => quit(session, true),
};

/** `help [COMMAND]`. */
export const helpCommand: ReplCommand = {
  name: "help",
  aliases: ["?"],
  usage: "help [COMMAND]",
  summary: "List the commands, or explain one",
  details: "",
  complete: (session, before, partial) =>
    before.length ? [] : session.commands.map((c) => c.name).filter((n) => n.startsWith(partial)),
  run(session, args) {
    if (args.length > 1) throw new ReplError(`help: unexpected argument '${args[1]}'`);
    const all = session.commands;
    if (args.length === 1) {
      const c = all.find((c) => c.name === args[0] || c.aliases?.includes(args[0]));
      if (!c) throw new ReplError(`help: no command '${args[0]}'; 'help' lists them`);
      const text = [c.usage, `  ${c.summary}`, ...(c.details ? [c.details] : [])].join("\n");
      return Promise.resolve(reply(text, { name: c.name, usage: c.usage, summary: c.summary }));
    }
    const width = Math.max(...all.map((c) => c.usage.split("  |")[0].length)) + 2;
    const rows = all.map((c) => `  ${c.usage.split("  |")[0].padEnd(width)}${c.summary}`);
    const text = `Commands ('help COMMAND' for more):\n${rows.join("\n")}\n` +
      "Ctrl-C stops a running 'run'/'until'; Ctrl-D leaves (asking first during a migration).";
    return Promise.resolve(reply(text, {
      commands: all.map((c) => ({ name: c.name, usage: c.usage, summary: c.summary })),
    }));
  },
};
