/**
 * `policy`: shows what the policy in force would decide now, or switches
 * to Xen's, the downtime-targeting one, or a user policy written as a
 * JavaScript/TypeScript expression over `s` (the engine's `PrecopyStats`).
 *
 * @module
 */

import {
  policyByName,
  type PolicyDecision,
  type PrecopyPolicy,
  type PrecopyStats,
  userPolicy,
} from "../../../lib/engine/policy.ts";
import type { ReplCommand } from "../command.ts";
import { formatVerdict } from "../format.ts";
import { ReplError, reply } from "../reply.ts";
import type { ReplSession } from "../session.ts";
import { compileUserCode, UserCodeError } from "../user_code.ts";

/** Named policies offered by completion. */
export const POLICY_NAMES: readonly string[] = ["xen", "downtime", "downtime:100", "downtime:300"];

/**
 * Turns an expression over `s` into a policy: a string result is the
 * decision (`continue`, `stop-and-copy`, `abort`); a boolean means "stop
 * now" when true.
 *
 * @example
 * ```ts
 * import { expressionPolicy } from "./policy.ts";
 * const p = await expressionPolicy("s.dirtyCount < 100 || s.iteration >= 8");
 * const s = { iteration: 2, dirtyCount: 500, p2mSize: 16384, totalPagesSent: 17000, history: [], pageWireBytes: 4104 };
 * console.assert(p.decide(s) === "continue" && p.decide({ ...s, dirtyCount: 10 }) === "stop-and-copy");
 * ```
 */
export async function expressionPolicy(source: string): Promise<PrecopyPolicy> {
  const fn = await compileUserCode(source, ["s"]);
  const decide = (s: PrecopyStats): PolicyDecision => {
    const v = fn(s);
    if (typeof v === "boolean") return v ? "stop-and-copy" : "continue";
    return v as PolicyDecision;
  };
  const base = userPolicy(decide, "user");
  return {
    name: base.name,
    decide: (s) => base.decide(s),
    explain: (s) => `${base.decide(s)} (${source})`,
  };
}

function showNow(session: ReplSession): [string, Record<string, unknown>] {
  const engine = session.migration?.engine;
  const name = session.policy.name;
  const label = session.policySource ? `${name} (${session.policySource})` : name;
  if (!engine || engine.phase === "new") {
    return [`policy ${label}; nothing to decide before 'start'`, { policy: name }];
  }
  let v;
  try {
    v = engine.decide(session.policy);
  } catch (e) {
    throw new ReplError(`policy ${name} failed: ${(e as Error).message}`);
  }
  return [formatVerdict(name, v), {
    policy: name,
    source: session.policySource,
    decision: v.decision,
    why: v.why,
  }];
}

/** `policy [xen|downtime[:MS]|<expression>]`. */
export const policyCommand: ReplCommand = {
  name: "policy",
  usage: "policy [xen|downtime[:MS]|<expression over s>]",
  summary: "Show what the policy would decide now, or switch policy",
  details: [
    "  policy                  what the policy in force would decide now, and why",
    "  policy xen              Xen's: stop below 50 dirty pages or after 5 iterations",
    "  policy downtime[:MS]    aim for a downtime of MS ms (default 300)",
    "  policy <expression>     JavaScript/TypeScript over s (PrecopyStats: iteration,",
    "                          dirtyCount, p2mSize, totalPagesSent, history, pageWireBytes)",
    "                          giving 'continue' | 'stop-and-copy' | 'abort', or a boolean",
    "                          that is true to stop, e.g.  policy s.dirtyCount < 200",
    "The new policy applies to this migration and to later ones.",
  ].join("\n"),
  complete: (_session, before, partial) =>
    before.length ? [] : POLICY_NAMES.filter((n) => n.startsWith(partial)),
  async run(session, _args, rest) {
    if (!rest) {
      const [text, data] = showNow(session);
      return reply(text, data);
    }
    let policy: PrecopyPolicy;
    let source: string | undefined;
    if (/^(xen|downtime(:\S*)?)$/.test(rest)) {
      try {
        policy = policyByName(rest);
      } catch (e) {
        throw new ReplError(`policy: ${(e as Error).message}`);
      }
    } else {
      try {
        policy = await expressionPolicy(rest);
      } catch (e) {
        if (e instanceof UserCodeError) throw new ReplError(`policy: ${e.message}`);
        throw e;
      }
      source = rest;
      const engine = session.migration?.engine;
      if (engine && engine.phase !== "new") {
        try {
          engine.decide(policy);
        } catch (e) {
          throw new ReplError(
            `policy: '${rest}' fails on the current statistics: ${(e as Error).message}`,
          );
        }
      }
    }
    session.policy = policy;
    session.policySource = source;
    if (session.migration) session.migration.engine.policy = policy;
    const [text, data] = showNow(session);
    return reply(`policy set to ${policy.name}${source ? ` (${source})` : ""}\n${text}`, data);
  },
};
