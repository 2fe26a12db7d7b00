/**
 * `xenmig save [DOM] FILE`: save a domain, live or not, to a file (written
 * atomically), as `xl save` does: by default the domain is destroyed once
 * saved; `-c` leaves it running, `-p` paused.
 *
 * @module
 */

import { SaveSession } from "../lib/engine/save_session.ts";
import { openSendChannel } from "../lib/engine/transport.ts";
import { onInterrupt } from "../lib/interrupts.ts";
import { RateLimitedSink } from "../lib/io/rate_limited_sink.ts";
import type { ByteSink } from "../lib/io/byte_sink.ts";
import { bandwidthFrom, policyFrom, PRECOPY_OPTIONS } from "./engine_options.ts";
import { formatSaveStats, runEngineCommand, statsJson } from "./engine_command.ts";
import { BACKEND_OPTIONS, openBackend, parseDomid } from "./hypervisor.ts";
import { writeAllSync } from "./output.ts";
import { progressBar } from "./progress.ts";

const SPECS = {
  ...BACKEND_OPTIONS,
  live: {
    type: "boolean",
    short: "l",
    default: false,
    help: "Live save: precopy with log-dirty, then stop-and-copy",
  },
  checkpoint: {
    type: "boolean",
    short: "c",
    default: false,
    help: "Leave the domain running after saving",
  },
  paused: {
    type: "boolean",
    short: "p",
    default: false,
    help: "Leave the domain paused after saving",
  },
  format: {
    type: "string",
    default: "xl",
    choices: ["xl", "libxl", "libxc"],
    metavar: "xl|libxl|libxc",
    help: "Outer layer of the file (default xl, as xl save writes)",
  },
  config: { type: "string", metavar: "FILE", help: "Domain config (JSON) for the xl header" },
  ...PRECOPY_OPTIONS,
} as const;

/** Runs `xenmig save`. */
export function saveCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig save",
    "[options] [DOM] FILE",
    "Save a domain to FILE (xl format by default). With --sim, DOM defaults to the simulated guest.",
    SPECS,
    args,
    async ({ values, positionals }) => {
      if (positionals.length < 1 || positionals.length > 2) {
        throw new RangeError("expected [DOM] FILE");
      }
      const file = positionals[positionals.length - 1];
      using session = await openBackend(values);
      const domid = parseDomid(positionals.length === 2 ? positionals[0] : undefined, session);
      const config = values.config ? await Deno.readTextFile(values.config as string) : undefined;
      const channel = await openSendChannel({ kind: "file", path: file });
      const rate = bandwidthFrom(values);
      const sink: ByteSink = rate ? new RateLimitedSink(channel.sink, rate) : channel.sink;
      const save = new SaveSession(session.hv, domid, sink, {
        live: values.live as boolean,
        policy: policyFrom(values),
        format: values.format as "xl",
        config,
        onProgress: progressBar(),
      });
      const done = onInterrupt(async () => {
        save.abort("interrupted");
        await channel.abort();
        writeAllSync(
          Deno.stderr,
          `xenmig save: interrupted during ${save.phase}; domain ${domid} left running\n`,
        );
      });
      try {
        const stats = await save.run();
        await channel.commit();
        if (values.checkpoint) save.resumeSource();
        else if (!values.paused) save.domain.destroy();
        writeAllSync(Deno.stdout, values.json ? statsJson(stats) : formatSaveStats(stats));
        return 0;
      } catch (e) {
        await channel.abort();
        throw new Error(
          `save failed during ${save.abortedIn ?? save.phase}: ${(e as Error).message}`,
        );
      } finally {
        done();
      }
    },
  );
}
