/**
 * `xenmig migrate DOM --to TARGET`: live-migrate a domain to a file,
 * descriptor, TCP receiver or command, speaking xl's migrate protocol on
 * two-way channels (so `xl migrate-receive` and `xenmig receive` both work).
 *
 * @module
 */

import { migrateDomain } from "../lib/engine/migrate.ts";
import type { SaveSession } from "../lib/engine/save_session.ts";
import { openSendChannel, parseTarget } from "../lib/engine/transport.ts";
import { onInterrupt } from "../lib/interrupts.ts";
import { bandwidthFrom, policyFrom, PRECOPY_OPTIONS, suspendFrom } from "./engine_options.ts";
import {
  describeGuestState,
  formatSaveStats,
  guestState,
  jsonProgress,
  jsonStart,
  phaseLabel,
  runEngineCommand,
  settled,
  statsJson,
} from "./engine_command.ts";
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
      let save: SaveSession | undefined;
      const phase = () => phaseLabel(save?.abortedIn ?? save?.phase);
      // The guest's state read back after cleanup: one phrase for the error
      // line, and with --json an object on stdout.
      const report = async (at: string, error: string): Promise<string> => {
        let text = `domain ${domid} not found`;
        let guest;
        try {
          guest = await guestState(session, domid, save?.domain.logDirty.enabled ?? false);
          text = describeGuestState(guest);
        } catch {
          // Destroyed: nothing to report but that.
        }
        if (values.json) {
          writeAllSync(Deno.stdout, JSON.stringify({ ok: false, phase: at, error, guest }) + "\n");
        }
        return text;
      };
      let migrating: Promise<unknown> | undefined;
      const done = onInterrupt(async () => {
        const at = phase(); // before the abort changes it
        controller.abort("interrupted"); // the engine restores the guest at once
        await channel.abort();
        if (migrating) await settled(migrating, 5000);
        const state = await report(at, "interrupted");
        writeAllSync(Deno.stderr, `xenmig migrate: interrupted during ${at}; ${state}\n`);
      });
      if (values.json) jsonStart(domid);
      try {
        const running = migrateDomain(session.hv, domid, channel, {
          policy: policyFrom(values),
          suspend: suspendFrom(values),
          maxBandwidth: bandwidthFrom(values),
          protocol: values["no-protocol"] ? false : undefined,
          signal: controller.signal,
          onSession: (s) => {
            save = s;
          },
          onProgress: values.json ? jsonProgress() : progressBar(),
        });
        migrating = running;
        const stats = await running;
        writeAllSync(Deno.stdout, values.json ? statsJson(stats) : formatSaveStats(stats));
        return 0;
      } catch (e) {
        // Interrupted: the interrupt cleanup reports and exits (130).
        if (controller.signal.aborted) return await settled(new Promise(() => {}), 60_000, 130);
        const at = phase();
        const message = (e as Error).message;
        const state = await report(at, message);
        throw new Error(
          `migration to ${channel.describe} failed during ${at}: ${message}; ${state}`,
        );
      } finally {
        done();
      }
    },
  );
}
