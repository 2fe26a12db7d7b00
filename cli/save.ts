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
        suspend: suspendFrom(values),
        format: values.format as "xl",
        config,
        onProgress: values.json ? jsonProgress() : progressBar(),
      });
      // The guest's state read back after cleanup: one phrase for the error
      // line, and with --json an object on stdout.
      const report = async (at: string, error: string): Promise<string> => {
        const guest = await guestState(session, domid, save.domain.logDirty.enabled);
        if (values.json) {
          writeAllSync(Deno.stdout, JSON.stringify({ ok: false, phase: at, error, guest }) + "\n");
        }
        return describeGuestState(guest);
      };
      // After the stream is written, only the file's commit is left.
      const label = (p: typeof save.phase | undefined) => p === "done" ? "commit" : phaseLabel(p);
      let interrupted = false;
      let saving: Promise<unknown> | undefined;
      const done = onInterrupt(async () => {
        interrupted = true;
        const at = label(save.phase); // before the abort changes it
        save.abort("interrupted");
        await channel.abort();
        if (saving) await settled(saving, 5000);
        const state = await report(at, "interrupted");
        writeAllSync(Deno.stderr, `xenmig save: interrupted during ${at}; ${state}\n`);
      });
      if (values.json) jsonStart(domid);
      try {
        const running = save.run();
        saving = running;
        const stats = await running;
        await channel.commit();
        if (values.checkpoint) save.resumeSource();
        else if (!values.paused) save.domain.destroy();
        writeAllSync(Deno.stdout, values.json ? statsJson(stats) : formatSaveStats(stats));
        return 0;
      } catch (e) {
        // Interrupted: the interrupt cleanup reports and exits (130).
        if (interrupted) return await settled(new Promise(() => {}), 60_000, 130);
        // A failed commit (e.g. ENOSPC at fsync) comes after a finished save:
        // the guest is still paused by it, so release it.
        save.abort((e as Error).message);
        await channel.abort();
        const at = label(save.abortedIn ?? save.phase);
        const message = (e as Error).message;
        const state = await report(at, message);
        throw new Error(`save failed during ${at}: ${message}; ${state}`);
      } finally {
        done();
      }
    },
  );
}
