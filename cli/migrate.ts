/**
 * `xenmig migrate DOM --to TARGET`: live-migrate a domain to a file,
 * descriptor, TCP receiver or command, speaking xl's migrate protocol on
 * two-way channels (so `xl migrate-receive` and `xenmig receive` both work).
 *
 * @module
 */

import { migrateDomain } from "../lib/engine/migrate.ts";
import { openSendChannel, parseTarget } from "../lib/engine/transport.ts";
import { onInterrupt } from "../lib/interrupts.ts";
import { bandwidthFrom, policyFrom, PRECOPY_OPTIONS } from "./engine_options.ts";
import { formatSaveStats, runEngineCommand, statsJson } from "./engine_command.ts";
import { BACKEND_OPTIONS, openBackend, parseDomid } from "./hypervisor.ts";
import { writeAllSync } from "./output.ts";
import { progressBar } from "./progress.ts";

const SPECS = {
  ...BACKEND_OPTIONS,
  to: {
    type: "string",
    metavar: "FILE|fd:N|tcp://HOST:PORT|'|CMD'",
    help: "Where to send the domain",
  },
  "no-protocol": {
    type: "boolean",
    default: false,
    help: "Send the bare stream even on a two-way channel (no xl migrate handshake)",
  },
  ...PRECOPY_OPTIONS,
} as const;

/** Runs `xenmig migrate`. */
export function migrateCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig migrate",
    "[options] [DOM] --to TARGET",
    "Live-migrate a domain. The source is destroyed only once the receiver runs it.",
    SPECS,
    args,
    async ({ values, positionals }) => {
      if (!values.to) throw new RangeError("--to TARGET is required");
      if (positionals.length > 1) throw new RangeError("expected at most one DOM");
      const target = parseTarget(values.to as string);
      using session = await openBackend(values);
      const domid = parseDomid(positionals[0], session);
      const channel = await openSendChannel(target);
      const controller = new AbortController();
      const done = onInterrupt(async () => {
        controller.abort("interrupted");
        await channel.abort();
        writeAllSync(
          Deno.stderr,
          `xenmig migrate: interrupted; domain ${domid} left running at the source\n`,
        );
      });
      try {
        const stats = await migrateDomain(session.hv, domid, channel, {
          policy: policyFrom(values),
          maxBandwidth: bandwidthFrom(values),
          protocol: values["no-protocol"] ? false : undefined,
          signal: controller.signal,
          onProgress: progressBar(),
        });
        writeAllSync(Deno.stdout, values.json ? statsJson(stats) : formatSaveStats(stats));
        return 0;
      } catch (e) {
        throw new Error(
          `migration to ${channel.describe} failed: ${
            (e as Error).message
          }; domain ${domid} left running`,
        );
      } finally {
        done();
      }
    },
  );
}
