/**
 * Driving the live loop like a debugger: `start`, `step`, `run [N]`,
 * `until <condition>`, `finish`, `abort`.  Each is one call on the engine's
 * own {@linkcode SaveSession} (through the REPL's migration), so what is
 * stepped here is exactly what `xenmig migrate` runs.
 *
 * @module
 */

import type { IterationStats } from "../../../lib/engine/policy.ts";
import { formatSaveStats, statsJson } from "../../engine_command.ts";
import { atMost, parseWhole } from "../arguments.ts";
import type { ReplCommand } from "../command.ts";
import { ConditionSyntaxError, parseCondition } from "../condition.ts";
import { formatIteration, formatVerdict, iterationJson } from "../format.ts";
import type { ReplMigration } from "../migration.ts";
import { ReplError, reply } from "../reply.ts";
import type { ReplSession } from "../session.ts";
import { STATS_FIELD_NAMES, STATS_FIELDS, statsFieldValues } from "../stats_fields.ts";

/** Most iterations one `run` or `until` takes (Ctrl-C stops sooner). */
export const LOOP_LIMIT = 1000;

function verdict(session: ReplSession, m: ReplMigration) {
  try {
    return m.engine.decide();
  } catch (e) {
    throw new ReplError(`policy ${session.policy.name} failed: ${(e as Error).message}`);
  }
}

function verdictLine(session: ReplSession, m: ReplMigration): [string, Record<string, unknown>] {
  const v = verdict(session, m);
  return [formatVerdict(session.policy.name, v), { decision: v.decision, why: v.why }];
}

/** `start`. */
export const startCommand: ReplCommand = {
  name: "start",
  usage: "start",
  summary: "Headers, static data, log-dirty on, and the first pass over all memory",
  details: "On a two-way destination (tcp://, |CMD) waits for the receiver's banner first.",
  async run(session, args) {
    atMost(args, 0, "start", this.usage);
    const m = session.requireMigration("start");
    if (session.userPauses > 0 && m.engine.phase === "new") {
      // The engine would take the guest for paused-before-save and never
      // release its own stop-and-copy pause.
      throw new ReplError(`start: domain ${m.domid} is paused by 'pause': 'unpause' it first`);
    }
    const first = await m.start();
    const [line, policy] = verdictLine(session, m);
    return reply(
      `log-dirty on for domain ${m.domid}; p2m ${m.engine.p2mSize} pfns\n${
        formatIteration(first)
      }\n${line}`,
      { phase: m.engine.phase, p2mSize: m.engine.p2mSize, iteration: iterationJson(first), policy },
    );
  },
};

/** `step`. */
export const stepCommand: ReplCommand = {
  name: "step",
  usage: "step",
  summary: "Exactly one precopy iteration, then its statistics",
  details: "Sends the pages the last CLEAN reported, then CLEANs again.  Ignores the policy\n" +
    "(which is shown, for the next decision).",
  async run(session, args) {
    atMost(args, 0, "step", this.usage);
    const m = session.requireMigration("step");
    const it = await m.step();
    const [line, policy] = verdictLine(session, m);
    return reply(`${formatIteration(it)}\n${line}`, { iteration: iterationJson(it), policy });
  },
};

/** Steps until `stop` says why to stop; prints each iteration as it goes. */
async function loop(
  session: ReplSession,
  m: ReplMigration,
  limit: number,
  stop: () => string | undefined,
): Promise<{ done: IterationStats[]; reason: string; interrupted: boolean }> {
  const done: IterationStats[] = [];
  for (;;) {
    const why = stop();
    if (why !== undefined) return { done, reason: why, interrupted: false };
    if (done.length >= limit) {
      return { done, reason: `${limit} iterations done`, interrupted: false };
    }
    if (session.interruptRequested) {
      return { done, reason: "interrupted (Ctrl-C)", interrupted: true };
    }
    const it = await m.step();
    done.push(it);
    session.say(formatIteration(it));
    // Let the terminal deliver a Ctrl-C between iterations.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function loopReply(
  session: ReplSession,
  m: ReplMigration,
  r: { done: IterationStats[]; reason: string; interrupted: boolean },
  extra: Record<string, unknown> = {},
) {
  const [line, policy] = verdictLine(session, m);
  return reply(
    `${r.done.length} iteration${r.done.length === 1 ? "" : "s"}; stopped: ${r.reason}\n${line}`,
    {
      iterations: r.done.map(iterationJson),
      stopped: r.reason,
      interrupted: r.interrupted,
      policy,
      ...extra,
    },
  );
}

/** `run [N]`. */
export const runCommand: ReplCommand = {
  name: "run",
  usage: "run [N]",
  summary: "Step while the policy says continue (at most N iterations); Ctrl-C stops it",
  details: `Stops before the iteration the policy would not take, leaving the decision to\n` +
    `you ('finish' to stop and copy, 'abort' to give up).  At most ${LOOP_LIMIT} iterations.`,
  async run(session, args) {
    atMost(args, 1, "run", this.usage);
    const m = session.requireMigration("run");
    const limit = args.length
      ? parseWhole(args[0], "run", "N", { min: 1, max: LOOP_LIMIT })
      : LOOP_LIMIT;
    m.expectPhase("run", "precopy");
    const r = await loop(session, m, limit, () => {
      const v = verdict(session, m);
      return v.decision === "continue" ? undefined : `policy says ${v.decision}`;
    });
    return loopReply(session, m, r);
  },
};

/** `until <condition>`. */
export const untilCommand: ReplCommand = {
  name: "until",
  usage: "until <condition>",
  summary: "Step until a condition on the statistics holds, e.g. 'dirty < 500', 'iter >= 8'",
  details: [
    "Conditions compare numbers with < <= > >= == != and combine them with and/or/not",
    "(&& || !), with + - * / % and parentheses; no other code.  Checked before each",
    `iteration; the policy is not consulted.  At most ${LOOP_LIMIT} iterations; Ctrl-C stops it.`,
    "Names:",
    ...STATS_FIELDS.map((f) => `  ${[f.name, ...f.aliases].join(", ").padEnd(24)}${f.help}`),
  ].join("\n"),
  complete: (_session, _before, partial) =>
    /^[A-Za-z_]/.test(partial) || partial === ""
      ? [...STATS_FIELD_NAMES, "and", "or", "not"].filter((n) => n.startsWith(partial))
      : [],
  async run(session, _args, rest) {
    const m = session.requireMigration("until");
    let condition;
    try {
      condition = parseCondition(rest, STATS_FIELD_NAMES);
    } catch (e) {
      if (e instanceof ConditionSyntaxError) throw new ReplError(`until: ${e.message}`);
      throw e;
    }
    m.expectPhase("until", "precopy");
    const r = await loop(session, m, LOOP_LIMIT, () => {
      const values = statsFieldValues(m.engine.precopyStats(), m.engine.stats.totalBytes);
      return condition.test(values) ? `'${condition.source}' holds` : undefined;
    });
    return loopReply(session, m, r, { condition: condition.source });
  },
};

/** `finish`. */
export const finishCommand: ReplCommand = {
  name: "finish",
  usage: "finish",
  summary: "Stop-and-copy: pause, send the last dirty pages, tail records and END",
  details: "Then, on a two-way destination, the hand-over (the receiver unpauses its copy and\n" +
    "the source is destroyed, or kept paused with --keep-source); on a file, the commit.\n" +
    "A saved source stays paused until 'unpause' (or 'quit!', which resumes it).",
  async run(session, args) {
    atMost(args, 0, "finish", this.usage);
    const m = session.requireMigration("finish");
    const stats = await m.finish();
    if (m.sourceDestroyed) session.userPauses = 0;
    const lines = [formatSaveStats(stats).trimEnd()];
    if (m.outcome === "handed-over") {
      lines.push(
        `the receiver runs the domain; source domain ${m.domid} ${
          m.sourceDestroyed ? "destroyed" : "kept paused (--keep-source)"
        }`,
      );
    } else {
      lines.push(`stream complete: ${m.destination}`);
    }
    if (m.holdsPause && !m.sourceDestroyed) {
      lines.push(`domain ${m.domid} is paused (stop-and-copy); 'unpause' resumes it`);
    }
    return reply(lines.join("\n"), {
      stats: JSON.parse(statsJson(stats)),
      outcome: m.outcome,
      destination: m.destination,
      sourcePaused: m.holdsPause,
      sourceDestroyed: m.sourceDestroyed,
    });
  },
};

/** `abort`. */
export const abortCommand: ReplCommand = {
  name: "abort",
  usage: "abort",
  summary: "Give up: log-dirty off, guest running, output discarded",
  details: "The stream written so far is thrown away (a --to file is never created).",
  async run(session, args) {
    atMost(args, 0, "abort", this.usage);
    const m = session.requireMigration("abort");
    const phase = m.engine.phase;
    if (phase === "new") throw new ReplError("abort: not started; nothing to abort");
    if (phase === "done") {
      throw new ReplError(
        "abort: already finished; nothing to abort ('unpause' resumes the source)",
      );
    }
    if (phase === "aborted") throw new ReplError("abort: already aborted");
    await m.abort();
    const running = !session.hv.domain(m.domid).info().paused;
    return reply(
      `aborted during ${phase}: log-dirty off, domain ${m.domid} ${
        running ? "running" : "still paused (it was paused before)"
      }, output discarded`,
      { abortedIn: phase, domid: m.domid, running },
    );
  },
};
