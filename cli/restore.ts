/**
 * `xenmig restore FILE`: restore a saved domain (xl, libxl or bare libxc
 * stream, detected) into a new domain, unpaused unless `-p`, as
 * `xl restore` does.
 *
 * @module
 */

import { restoreStream } from "../lib/engine/restore.ts";
import { onInterrupt } from "../lib/interrupts.ts";
import { openInput } from "../lib/io/byte_source.ts";
import { runEngineCommand } from "./engine_command.ts";
import { BACKEND_OPTIONS, destroyQuietly, openBackend } from "./hypervisor.ts";
import { GUEST_OPTIONS, guestFrom } from "./engine_options.ts";
import { writeAllSync } from "./output.ts";

const SPECS = {
  ...BACKEND_OPTIONS,
  ...GUEST_OPTIONS,
  paused: { type: "boolean", short: "p", default: false, help: "Leave the restored domain paused" },
  vcpus: { type: "string", metavar: "N", help: "vcpus (default: from the xl config, else 1)" },
  memory: {
    type: "string",
    metavar: "MiB",
    help: "Maximum memory (default: from the xl config, else 1024)",
  },
  json: { type: "boolean", default: false, help: "Print the result as JSON" },
} as const;

/** Runs `xenmig restore`. */
export function restoreCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig restore",
    "[options] FILE",
    "Restore a saved domain from FILE (or - for stdin) into a new domain.",
    SPECS,
    args,
    async ({ values, positionals }) => {
      if (positionals.length !== 1) throw new RangeError("expected FILE");
      using session = await openBackend(values);
      const source = await openInput(positionals[0] === "-" ? "0" : positionals[0]);
      // Interrupted mid-restore: the half-built domain must not outlive us.
      let building: number | undefined;
      const done = onInterrupt(() => destroyQuietly(session.hv, building, "restore"));
      const result = await restoreStream(session.hv, source, {
        onDomain: (id) => (building = id),
        ...guestFrom(values),
        unpause: !values.paused,
        vcpus: values.vcpus === undefined ? undefined : count(values.vcpus as string, "--vcpus"),
        maxMemKib: values.memory === undefined
          ? undefined
          : count(values.memory as string, "--memory") * 1024,
        log: (l) => writeAllSync(Deno.stderr, `xenmig restore: ${l}\n`),
      });
      done();
      source.close();
      // A simulated domain lives only as long as this process: keep it for
      // the caller only when it asked to inspect it (library use).
      const out = {
        domid: result.domid,
        name: result.name,
        pages: result.pages,
        populated: result.populated,
        bytes: result.bytes,
        ms: Math.round(result.ms),
        paused: !!values.paused,
      };
      writeAllSync(
        Deno.stdout,
        values.json
          ? JSON.stringify(out, null, 2) + "\n"
          : `restored domain ${out.domid} (${out.name}): ${out.pages} pages from ${out.bytes} bytes in ${out.ms} ms` +
            `${out.paused ? " (paused)" : ""}\n`,
      );
      return 0;
    },
  );
}

function count(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`${flag} needs a positive integer, got '${text}'`);
  }
  return n;
}
