/**
 * `xenmig receive --listen tcp://HOST:PORT` (or `-` for stdin/stdout, the
 * way `xl migrate` runs `xl migrate-receive`): the receiving end of a
 * migration, speaking xl's protocol.
 *
 * @module
 */

import { receiveDomain } from "../lib/engine/migrate.ts";
import { acceptReceiveChannel } from "../lib/engine/transport.ts";
import { onInterrupt } from "../lib/interrupts.ts";
import { runEngineCommand } from "./engine_command.ts";
import { BACKEND_OPTIONS, destroyQuietly, openBackend } from "./hypervisor.ts";
import { GUEST_OPTIONS, guestFrom } from "./engine_options.ts";
import { writeAllSync } from "./output.ts";

const SPECS = {
  ...BACKEND_OPTIONS,
  ...GUEST_OPTIONS,
  listen: {
    type: "string",
    default: "-",
    metavar: "tcp://HOST:PORT|fd:N|-",
    help: "Where to accept the sender (default -: stdin/stdout, as xl migrate runs its receiver)",
  },
  vcpus: { type: "string", metavar: "N", help: "vcpus (default: from the xl config)" },
  json: {
    type: "boolean",
    default: false,
    help: "Print the result as JSON (on stderr with --listen -)",
  },
} as const;

/** Runs `xenmig receive`. */
export function receiveCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig receive",
    "[options]",
    "Receive a migrating domain and run it.",
    SPECS,
    args,
    async ({ values }) => {
      using session = await openBackend(values);
      // Before waiting for a sender, not after it has connected.
      session.hv.bindAll();
      const listen = values.listen as string;
      const channel = await acceptReceiveChannel(listen);
      try {
        let building: number | undefined;
        const done = onInterrupt(() => destroyQuietly(session.hv, building, "receive"));
        const r = await receiveDomain(session.hv, channel, {
          onDomain: (id) => (building = id),
          ...guestFrom(values),
          vcpus: values.vcpus === undefined ? undefined : Number(values.vcpus),
          log: (l) => writeAllSync(Deno.stderr, `xenmig receive: ${l}\n`),
        });
        done();
        // With stdio as the channel, stdout belongs to the protocol.
        const out = listen === "-" ? Deno.stderr : Deno.stdout;
        const round = (ms: number) => Math.round(ms * 10) / 10;
        const summary = {
          domid: r.domid,
          name: r.name,
          pages: r.pages,
          bytes: r.bytes,
          ms: Math.round(r.ms),
          finishMs: round(r.finishMs),
          waitMs: r.handover && round(r.handover.waitMs),
          resumeMs: r.handover && round(r.handover.resumeMs),
        };
        writeAllSync(
          out,
          values.json
            ? JSON.stringify(summary) + "\n"
            : `received domain ${r.domid} (${r.name}): ${r.pages} pages, ${r.bytes} bytes in ` +
              `${summary.ms} ms; ready ${summary.finishMs} ms after END` +
              (r.handover
                ? `, permission after ${summary.waitMs} ms, running ${summary.resumeMs} ms later`
                : "") +
              "; running\n",
        );
        return 0;
      } finally {
        channel.close();
      }
    },
  );
}
