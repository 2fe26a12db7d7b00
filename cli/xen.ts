/**
 * `xenmig xen list|info|pause|unpause|logdirty`: the FFI layer by hand —
 * what the engine sees of the hypervisor, for checking a host (and for the
 * real-Xen tests): `list` prints the columns of `xl list`.
 *
 * @module
 */

import { bitmapBytes } from "../lib/xen/log_dirty.ts";
import type { DomainInfo } from "../lib/xen/types.ts";
import { runEngineCommand } from "./engine_command.ts";
import { BACKEND_OPTIONS, openBackend } from "./hypervisor.ts";
import { writeAllSync } from "./output.ts";

const SPECS = {
  ...BACKEND_OPTIONS,
  rounds: { type: "string", default: "3", metavar: "N", help: "logdirty: CLEAN rounds" },
  interval: { type: "string", default: "200", metavar: "MS", help: "logdirty: ms between CLEANs" },
  json: { type: "boolean", default: false, help: "JSON output" },
} as const;

/** `xl list`'s state column: r b p s c d. */
export function stateFlags(d: DomainInfo): string {
  const crashed = d.shutdown && d.shutdownCode === 3;
  return [
    d.running ? "r" : "-",
    d.blocked ? "b" : "-",
    d.paused ? "p" : "-",
    d.shutdown ? "s" : "-", // xl shows s for any shutdown, plus c for a crash
    crashed ? "c" : "-",
    d.dying ? "d" : "-",
  ].join("");
}

async function domainName(domid: number): Promise<string> {
  try {
    const out = await new Deno.Command("xenstore-read", {
      args: [`/local/domain/${domid}/name`],
      stderr: "null",
    })
      .output();
    if (out.success) return new TextDecoder().decode(out.stdout).trim();
  } catch {
    // No xenstore tools: name the domain by id.
  }
  return domid === 0 ? "Domain-0" : `(domain ${domid})`;
}

/** Runs `xenmig xen`. */
export function xenCommand(args: string[]): Promise<number> {
  return runEngineCommand(
    "xenmig xen",
    "[options] list | info DOM | pause DOM | unpause DOM | logdirty DOM",
    "Inspect and drive domains through libxenctrl (or the simulator).",
    SPECS,
    args,
    async ({ values, positionals }) => {
      const [verb, dom] = positionals;
      using session = await openBackend(values);
      const hv = session.hv;
      const domid = () => {
        if (dom === undefined || !/^\d+$/.test(dom)) {
          throw new RangeError(`${verb} needs a numeric DOM`);
        }
        return Number(dom);
      };
      switch (verb) {
        case "list": {
          const doms = hv.domains();
          if (values.json) {
            writeAllSync(
              Deno.stdout,
              JSON.stringify(doms, (_, v) => typeof v === "bigint" ? v.toString() : v, 2) + "\n",
            );
            return 0;
          }
          const rows = [
            "Name                                        ID   Mem VCPUs\tState\tTime(s)",
          ];
          for (const d of doms) {
            const name = await domainName(d.domid);
            const mem = Math.floor((d.totPages * 4) / 1024);
            const time = (Number(d.cpuTimeNs) / 1e9).toFixed(1);
            rows.push(
              `${name.padEnd(40)} ${String(d.domid).padStart(5)} ${String(mem).padStart(5)} ${
                String(d.onlineVcpus).padStart(5)
              }     ${stateFlags(d)} ${time.padStart(10)}`,
            );
          }
          writeAllSync(Deno.stdout, rows.join("\n") + "\n");
          return 0;
        }
        case "info": {
          const info = hv.domain(domid()).info();
          writeAllSync(
            Deno.stdout,
            JSON.stringify(info, (_, v) => typeof v === "bigint" ? v.toString() : v, 2) + "\n",
          );
          return 0;
        }
        case "pause":
          hv.domain(domid()).pause();
          return 0;
        case "unpause":
          hv.domain(domid()).unpause();
          return 0;
        case "logdirty": {
          const d = hv.domain(domid());
          const pages = d.maxGpfn() + 1;
          const bitmap = new Uint8Array(Math.ceil(bitmapBytes(pages) / 8) * 8);
          const rounds = Number(values.rounds), interval = Number(values.interval);
          d.logDirty.enable();
          const results: { round: number; dirty: number; faults: number }[] = [];
          try {
            for (let r = 1; r <= rounds; r++) {
              await new Promise((res) => setTimeout(res, interval));
              const s = d.logDirty.clean(bitmap, pages);
              results.push({ round: r, dirty: s.dirtyCount, faults: s.faultCount });
            }
          } finally {
            d.logDirty.off();
          }
          writeAllSync(
            Deno.stdout,
            values.json
              ? JSON.stringify({ domid: d.domid, pages, rounds: results }) + "\n"
              : results.map((x) => `round ${x.round}: ${x.dirty} dirty pages, ${x.faults} faults`)
                .join("\n") + "\n",
          );
          return 0;
        }
        default:
          throw new RangeError(
            `unknown action '${verb ?? ""}' (list, info, pause, unpause, logdirty)`,
          );
      }
    },
  );
}
