/**
 * How engine commands choose their backend: the real libxenctrl in a Xen
 * dom0, or the simulator with `--sim SPEC` — explicitly, never by silent
 * fallback.
 *
 * @module
 */

import { openHypervisor } from "../lib/xen/open.ts";
import type { HypervisorSession } from "../lib/xen/open.ts";
import type { Hypervisor } from "../lib/xen/hypervisor.ts";
import type { OptionSpec } from "./options.ts";
import { writeAllSync } from "./output.ts";

/** The backend options every engine command takes. */
export const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  sim: {
    type: "string",
    metavar: "SPEC",
    help:
      "Use the libxenctrl simulator with a guest of SPEC, e.g. 'mem=1G,vcpus=2,rate=50000,pattern=hot:5%'",
  },
  "xen-library": {
    type: "string",
    metavar: "PATH",
    help: "Load libxenctrl from PATH (default: the system's libxenctrl.so.4.17)",
  },
};

/** Opens the backend the options name. */
export function openBackend(values: Record<string, unknown>): Promise<HypervisorSession> {
  return openHypervisor({
    sim: values.sim as string | undefined,
    library: values["xen-library"] as string | undefined,
  });
}

/** Parses a domain argument: a domid (names need xenstore, which xenmig does not use). */
export function parseDomid(arg: string | undefined, session: HypervisorSession): number {
  if (arg === undefined) {
    if (session.domid !== undefined) return session.domid;
    throw new RangeError("which domain? give a domid");
  }
  if (!/^\d+$/.test(arg)) {
    throw new RangeError(`'${arg}' is not a domid (xenmig takes numeric domain ids)`);
  }
  return Number(arg);
}

/**
 * Destroys a half-built domain after an interrupt, saying so; a domain that
 * is already gone is not an error.
 */
export function destroyQuietly(hv: Hypervisor, domid: number | undefined, prog: string): void {
  if (domid === undefined) return;
  try {
    hv.domain(domid).destroy();
    writeAllSync(
      Deno.stderr,
      `xenmig ${prog}: interrupted; half-built domain ${domid} destroyed\n`,
    );
  } catch {
    // Already destroyed by the failing restore itself.
  }
}
