/**
 * Backend choice, made explicitly: the real libraries on a Xen dom0 (or
 * from a given library path), the simulator only when a sim spec is given.
 * Never falls back from one to the other.
 *
 * @module
 */

import { pathExists } from "../io/path_exists.ts";
import { XenError } from "./errors.ts";
import { Hypervisor, PRIVCMD } from "./hypervisor.ts";
import { SimControl } from "./sim_control.ts";
import { parseSimSpec, type SimSpec } from "./sim_spec.ts";
import { writeGuestEntries } from "./guest_xenstore.ts";
import {
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
} from "./constants.ts";

/** Options of {@linkcode openHypervisor}. */
export interface OpenHypervisorOptions {
  /** A sim spec (see `sim_spec.ts`): selects the simulator. */
  sim?: string;
  /** Directory or path of the real libxenctrl.so.4.17: selects real Xen. */
  library?: string;
  /** A prebuilt simulator to use instead of building one. */
  simLibrary?: string;
}

/** What {@linkcode openHypervisor} opened. */
export class HypervisorSession implements Disposable {
  /** The hypervisor interface. */
  readonly hv: Hypervisor;
  /** The simulated domain the spec created (sim only). */
  readonly domid?: number;
  /** Simulator controls (sim only). */
  readonly sim?: SimControl;

  /** @internal Built by {@linkcode openHypervisor}. */
  constructor(hv: Hypervisor, sim?: SimControl, domid?: number) {
    this.hv = hv;
    this.sim = sim;
    this.domid = domid;
  }

  /** Closes the interface; on the simulator also destroys the spec's domain. */
  close(): void {
    if (this.sim && this.domid !== undefined) {
      try {
        this.sim.destroyDomain(this.domid);
      } catch { /* already destroyed by the caller */ }
    }
    this.hv.close();
    this.sim?.close();
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens a hypervisor: `{ sim: "mem=1G,vcpus=2,rate=50000,pattern=hot:5%" }`
 * builds (if needed) and opens the simulator and creates that domain;
 * `{ library }` opens real Xen libraries from a path; `{}` opens the
 * system's libraries on a dom0 and otherwise fails with
 * `not a Xen dom0 (no /dev/xen/privcmd)`.
 *
 * @example
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * using s = await openHypervisor({ sim: "mem=128M,vcpus=2" });
 * console.log(s.hv.backend, s.hv.domain(s.domid!).info().onlineVcpus); // "sim" 2
 * ```
 */
export async function openHypervisor(
  options: OpenHypervisorOptions = {},
): Promise<HypervisorSession> {
  if (options.sim !== undefined && options.library !== undefined) {
    throw new TypeError("give either a sim spec or a Xen library path, not both");
  }
  if (options.sim !== undefined) {
    const spec = parseSimSpec(options.sim); // fail on a bad spec before building anything
    // Loaded only for the simulator: the build code is not needed on Xen.
    const path = options.simLibrary ??
      await (await import("../../native/build.ts")).buildSimulator();
    const hv = Hypervisor.open({ backend: "sim", library: path });
    const sim = SimControl.open(path);
    try {
      const domid = sim.createDomain(spec);
      try {
        introduceSimGuest(hv, sim, domid, spec);
      } catch (e) {
        sim.destroyDomain(domid);
        throw e;
      }
      return new HypervisorSession(hv, sim, domid);
    } catch (e) {
      hv.close();
      sim.close();
      throw e;
    }
  }
  if (options.library === undefined && !pathExists(PRIVCMD)) {
    throw new XenError("xc_interface_open", 2, {
      reason: `not a Xen dom0 (no ${PRIVCMD}); pass --sim <spec> to use the simulator`,
    });
  }
  return new HypervisorSession(Hypervisor.open({ backend: "xen", library: options.library }));
}

/**
 * What a toolstack does for a new guest, done for the simulated one: event
 * channels for its xenstore and console rings, its xenstore entries, and
 * its introduction; its PV drivers then answer suspend requests.
 */
function introduceSimGuest(hv: Hypervisor, sim: SimControl, domid: number, spec: SimSpec): void {
  const dom = hv.domain(domid);
  const ring = (pfnParam: number, evtchnParam: number) => {
    const port = dom.allocUnboundEvtchn(0);
    dom.setHvmParam(evtchnParam, port);
    return { gfn: Number(dom.hvmParam(pfnParam)), port };
  };
  writeGuestEntries(hv.xenstore, domid, {
    // Unique across processes: two simulators may meet in a migration.
    name: `sim${Deno.pid}-${domid}`,
    uuid: dom.info().handle,
    type: "pvh",
    memKib: spec.memBytes / 1024,
    vcpus: spec.vcpus,
    store: ring(HVM_PARAM_STORE_PFN, HVM_PARAM_STORE_EVTCHN),
    console: ring(HVM_PARAM_CONSOLE_PFN, HVM_PARAM_CONSOLE_EVTCHN),
  });
  sim.setGuestAgent(domid, true);
}
