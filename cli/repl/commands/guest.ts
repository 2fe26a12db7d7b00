/**
 * Acting on the guest itself: `pause`, `unpause`, and (simulator only)
 * `workload`, which changes how fast and where the guest writes, live.
 *
 * @module
 */

import { parseSimSpec } from "../../../lib/xen/sim_spec.ts";
import type { Workload } from "../../../lib/xen/sim_control.ts";
import { atMost } from "../arguments.ts";
import type { ReplCommand } from "../command.ts";
import { ReplError, reply } from "../reply.ts";
import { describePattern } from "./views.ts";

/** Workload patterns offered by completion. */
export const WORKLOAD_PATTERNS: readonly string[] = [
  "uniform",
  "hot:5%",
  "hot:1%",
  "scan",
  "bursty",
  "bursty:100/400",
];

/** `pause`. */
export const pauseCommand: ReplCommand = {
  name: "pause",
  usage: "pause",
  summary: "Pause the guest (precopy goes on: nothing more gets dirty)",
  details: "'unpause' undoes it; 'quit' will not leave it paused without saying so.",
  run(session, args) {
    atMost(args, 0, "pause", this.usage);
    const dom = session.requireDomain("pause");
    if (dom.info().paused) throw new ReplError(`pause: domain ${dom.domid} is already paused`);
    dom.pause();
    session.userPauses++;
    return Promise.resolve(reply(`domain ${dom.domid} paused`, { domid: dom.domid, paused: true }));
  },
};

/** `unpause`. */
export const unpauseCommand: ReplCommand = {
  name: "unpause",
  usage: "unpause",
  summary: "Resume the guest (paused by 'pause', or by stop-and-copy after 'finish')",
  details: "After a finished save this leaves the source running, as 'xl save -c' does.",
  run(session, args) {
    atMost(args, 0, "unpause", this.usage);
    const dom = session.requireDomain("unpause");
    const m = session.migration;
    let how: string;
    if (session.userPauses > 0) {
      dom.unpause();
      session.userPauses--;
      how = "paused by 'pause'";
    } else if (m?.holdsPause) {
      m.resumeSource();
      how = "paused since its stop-and-copy";
    } else if (m?.active && m.engine.phase === "stopped") {
      throw new ReplError("unpause: stop-and-copy is under way");
    } else if (dom.info().paused) {
      if (m?.outcome === "undecided") {
        throw new ReplError(
          `unpause: the receiver may be running domain ${dom.domid}: check it before resuming ` +
            `the source`,
        );
      }
      dom.unpause();
      how = "it was not paused by this console";
    } else {
      throw new ReplError(`unpause: domain ${dom.domid} is not paused`);
    }
    const paused = dom.info().paused;
    return Promise.resolve(reply(
      `domain ${dom.domid} ${paused ? "still paused (paused more than once)" : "running"} (${how})`,
      { domid: dom.domid, paused },
    ));
  },
};

function parseWorkload(args: readonly string[], current: Workload | undefined): Workload {
  const parts: string[] = [];
  for (const [i, a] of args.entries()) {
    if (a.includes("=")) parts.push(a);
    else if (i === 0 && /^\d+$/.test(a)) parts.push(`rate=${a}`);
    else parts.push(`pattern=${a}`);
  }
  const keys = parts.map((p) => p.slice(0, p.indexOf("=")));
  const bad = keys.find((k) => k !== "rate" && k !== "pattern");
  if (bad) throw new ReplError(`workload: unknown setting '${bad}' (rate, pattern)`);
  let spec;
  try {
    spec = parseSimSpec(parts.join(","));
  } catch (e) {
    throw new ReplError(`workload: ${(e as Error).message.replace(/^sim spec "[^"]*": /, "")}`);
  }
  return {
    rate: keys.includes("rate") ? spec.rate : current?.rate ?? 0,
    pattern: keys.includes("pattern") ? spec.pattern : current?.pattern ?? { kind: "uniform" },
  };
}

/** `workload [RATE] [PATTERN]`. */
export const workloadCommand: ReplCommand = {
  name: "workload",
  usage: "workload [RATE] [PATTERN]  |  workload rate=N pattern=P",
  summary: "Simulator only: show or change the guest's dirty rate and pattern, live",
  details: "RATE is pages per second for the whole guest; PATTERN is uniform, hot:N% (90% of\n" +
    "writes to N% of RAM), scan, or bursty[:ON_MS/OFF_MS].  What is not given is kept.",
  complete: (_session, _before, partial) =>
    [...WORKLOAD_PATTERNS, "rate=", "pattern="].filter((p) => p.startsWith(partial)),
  run(session, args) {
    if (!session.sim) throw new ReplError("workload: only on the simulator (--sim SPEC)");
    const dom = session.requireDomain("workload");
    const current = session.workloads.get(dom.domid);
    const stats = () => session.sim!.stats(dom.domid);
    if (!args.length) {
      const s = stats();
      const text = current
        ? `${current.rate} pages/s, ${describePattern(current.pattern)}`
        : "unknown (set one: workload RATE [PATTERN])";
      return Promise.resolve(
        reply(`workload of domain ${dom.domid}: ${text}; ${s.writes} writes so far`, {
          rate: current?.rate,
          pattern: current ? describePattern(current.pattern) : undefined,
          writes: s.writes,
        }),
      );
    }
    atMost(args, 2, "workload", this.usage);
    const w = parseWorkload(args, current);
    session.sim.setWorkload(dom.domid, w);
    session.workloads.set(dom.domid, w);
    return Promise.resolve(reply(
      `workload of domain ${dom.domid}: ${w.rate} pages/s, ${describePattern(w.pattern)}`,
      { rate: w.rate, pattern: describePattern(w.pattern) },
    ));
  },
};
