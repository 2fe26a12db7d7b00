/**
 * `xenmig demo` (what `deno task start` runs): live-migrates a running
 * simulated guest under load over TCP to a receiver, through the same FFI
 * code that drives real Xen, proves the destination's memory equals the
 * source's at the moment of pause page for page, and shows the statistics.
 *
 * @module
 */

import { compareMemory } from "../lib/engine/compare_memory.ts";
import { migrateDomain, receiveDomain } from "../lib/engine/migrate.ts";
import { acceptReceiveChannel, openSendChannel } from "../lib/engine/transport.ts";
import { openHypervisor } from "../lib/xen/open.ts";
import { bandwidthFrom, policyFrom, PRECOPY_OPTIONS } from "./engine_options.ts";
import { formatSaveStats, runEngineCommand, statsJson } from "./engine_command.ts";
import { writeAllSync } from "./output.ts";

const SPECS = {
  sim: {
    type: "string",
    default: "mem=1G,vcpus=2,rate=30000,pattern=hot:5%",
    metavar: "SPEC",
    help: "The simulated guest (memory, vcpus, dirty rate and pattern)",
  },
  ...PRECOPY_OPTIONS,
  policy: { ...PRECOPY_OPTIONS.policy, default: "downtime" },
} as const;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Runs the demo; returns the exit code. */
export function demoCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig demo",
    "[options]",
    "Live-migrate a simulated guest under load over TCP and prove its memory arrived intact.",
    SPECS,
    args,
    async ({ values }) => {
      const say = (s: string) => {
        if (!values.json) writeAllSync(Deno.stdout, s + "\n");
      };
      using session = await openHypervisor({ sim: values.sim as string });
      const hv = session.hv;
      const src = session.domid!;
      say(
        `source: simulated HVM guest, domain ${src}, '${values.sim}', running and dirtying memory`,
      );
      const listen = `tcp://127.0.0.1:${freePort()}`;
      const receiving = acceptReceiveChannel(listen).then((ch) => receiveDomain(hv, ch));
      say(`receiver: listening on ${listen}`);
      const channel = await openSendChannel({
        kind: "tcp",
        host: "127.0.0.1",
        port: Number(listen.split(":").pop()),
      });
      const stats = await migrateDomain(hv, src, channel, {
        policy: policyFrom(values),
        maxBandwidth: bandwidthFrom(values),
        keepSource: true, // paused at stop-and-copy, kept to compare
      });
      const received = await receiving;
      say(`\nmigrated domain ${src} -> domain ${received.domid} (xl migrate protocol over TCP)\n`);
      say(formatSaveStats(stats).trimEnd());
      const cmp = compareMemory(hv, src, received.domid);
      const stamps = session.sim!.verifyDomain(received.domid);
      const ok = cmp.mismatches === 0 && cmp.missing === 0 && stamps.bad === 0;
      say(
        `\nmemory: ${cmp.pages} pages compared with the paused source: ${cmp.mismatches} differ, ` +
          `${cmp.missing} missing; page stamps at the destination: ${stamps.bad} bad`,
      );
      say(ok ? "RESULT: destination memory matches the source page for page" : "RESULT: MISMATCH");
      if (values.json) {
        writeAllSync(Deno.stdout, statsJson(stats).trimEnd() + "\n");
      }
      hv.domain(received.domid).destroy();
      return ok ? 0 : 1;
    },
  );
}
