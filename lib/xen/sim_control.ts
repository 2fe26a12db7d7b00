/**
 * Simulator-only controls (`xsim_*` symbols of libxenctrl-sim.so): create
 * domains from a spec, steer their workload live, read counters the real
 * hypervisor does not have, and verify page stamps.  Shares the simulator's
 * state with a `Hypervisor` opened on the same library.
 *
 * @module
 */

import { pfnArray } from "./codec.ts";
import { XenError } from "./errors.ts";
import { parseSimSpec, type SimSpec, type WorkloadPattern } from "./sim_spec.ts";

/** FFI signatures of the simulator's control calls. */
export const SIM_SYMBOLS = {
  // int32 xsim_domain_create(u64 mem, u32 vcpus, u32 domid, double rate, u32 pattern,
  //                          double hot_fraction, u32 on_ms, u32 off_ms): domid or -errno
  xsim_domain_create: {
    parameters: ["u64", "u32", "u32", "f64", "u32", "f64", "u32", "u32"],
    result: "i32",
  },
  xsim_destroy_domain: { parameters: ["u32"], result: "i32" },
  xsim_set_workload: { parameters: ["u32", "f64", "u32", "f64", "u32", "u32"], result: "i32" },
  xsim_domain_stats: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  xsim_global_stats: { parameters: ["buffer", "u32"], result: "i32" },
  xsim_verify_page: { parameters: ["buffer", "u64"], result: "i32" },
  xsim_verify_domain: { parameters: ["u32", "buffer"], result: "i64" },
  xsim_page_generation: { parameters: ["u32", "u64"], result: "i64" },
  xsim_write_pages: { parameters: ["u32", "buffer", "u64"], result: "i64" },
  xsim_reset: { parameters: [], result: "void" },
  // int32 xsim_set_guest_agent(u32 domid, u32 enabled, u32 ack_ms): 0 or -errno
  xsim_set_guest_agent: { parameters: ["u32", "u32", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Per-domain counters (order fixed by `xsim_domain_stats` in control.c). */
export interface SimDomainStats {
  /** Guest writes done. */
  writes: number;
  /** Last generation handed to a write. */
  generation: number;
  /** Accesses to pfns beyond the domain's range (map, type query, populate). */
  outOfRange: number;
  /** Foreign maps of unpopulated pfns inside the range. */
  holeAccess: number;
  /** Controller pause count. */
  pauseCount: number;
  /** Workload threads. */
  writers: number;
  /** Workload threads parked by a pause. */
  parkedWriters: number;
  /** Populated pages. */
  totPages: number;
  /** Highest populated pfn. */
  maxGpfn: number;
  /** Log-dirty mode on. */
  logDirty: boolean;
  /** Faults since the last CLEAN. */
  faultCount: number;
  /** Newly dirtied pages since the last CLEAN. */
  dirtyCount: number;
  /** RAM pages the workload writes to. */
  ramPages: number;
  /** Vcpus. */
  vcpus: number;
}

/** Process-wide simulator counters. */
export interface SimGlobalStats {
  /** Hypercall buffers allocated and not freed. */
  hypercallBuffersLive: number;
  /** Open xenstore connections (`xs_open` without `xs_close`). */
  xenstoreHandlesLive: number;
  /** xenstore transactions started and not ended. */
  xenstoreTransactionsOpen: number;
  /** Nodes in the simulated xenstore (not counting `/`). */
  xenstoreNodes: number;
  /** Hypercall buffers ever allocated. */
  hypercallBuffersTotal: number;
  /** Frees of unknown buffers or with the wrong size. */
  hypercallBufferBadFrees: number;
  /** Foreign mappings not unmapped. */
  mappingsLive: number;
  /** Open xc_interface handles. */
  handlesLive: number;
  /**
   * Accesses beyond a domain's range, all domains ever (destroyed ones
   * included: a failed restore destroys its domain, and its count with it).
   */
  outOfRangeTotal: number;
}

/** A workload change for {@linkcode SimControl.setWorkload}. */
export interface Workload {
  /** Pages per second, whole domain. */
  rate: number;
  /** Pattern (default uniform). */
  pattern?: WorkloadPattern;
}

const PATTERN_CODES = { uniform: 0, hot: 1, scan: 2, bursty: 3 } as const;

function patternArgs(p: WorkloadPattern): [number, number, number, number] {
  return [
    PATTERN_CODES[p.kind],
    p.kind === "hot" ? p.fraction : 0,
    p.kind === "bursty" ? p.onMs : 0,
    p.kind === "bursty" ? p.offMs : 0,
  ];
}

/**
 * The simulator's control surface.
 *
 * @example Create a guest that dirties 1000 pages/s, then stop it
 * ```ts
 * import { SimControl } from "./sim_control.ts";
 * import { buildSimulator } from "../../native/build.ts";
 * using sim = SimControl.open(await buildSimulator());
 * const domid = sim.createDomain("mem=64M,rate=1000");
 * sim.setWorkload(domid, { rate: 0 });
 * console.log(sim.stats(domid).totPages > 16384); // true: RAM + special pages
 * sim.destroyDomain(domid);
 * ```
 */
export class SimControl implements Disposable {
  #lib: Deno.DynamicLibrary<typeof SIM_SYMBOLS> | null;

  private constructor(lib: Deno.DynamicLibrary<typeof SIM_SYMBOLS>) {
    this.#lib = lib;
  }

  /** Binds the control calls of the simulator at `path`. */
  static open(path: string): SimControl {
    try {
      return new SimControl(Deno.dlopen(path, SIM_SYMBOLS));
    } catch (e) {
      throw new XenError("dlopen", 2, {
        subject: path,
        reason: e instanceof Error ? e.message : String(e),
      });
    }
  }

  get #sym(): Deno.DynamicLibrary<typeof SIM_SYMBOLS>["symbols"] {
    if (this.#lib === null) {
      throw new XenError("xsim", 9, { reason: "simulator control is closed" });
    }
    return this.#lib.symbols;
  }

  #check(rc: number | bigint, call: string, subject: string): number {
    const n = Number(rc);
    if (n < 0) throw new XenError(call, -n, { subject });
    return n;
  }

  /** Creates a running simulated HVM domain; returns its domid. */
  createDomain(spec: string | SimSpec): number {
    const s = typeof spec === "string" ? parseSimSpec(spec) : spec;
    const [pattern, hot, on, off] = patternArgs(s.pattern);
    const rc = this.#sym.xsim_domain_create(
      BigInt(s.memBytes),
      s.vcpus,
      s.domid ?? 0,
      s.rate,
      pattern,
      hot,
      on,
      off,
    );
    return this.#check(
      rc,
      "xsim_domain_create",
      typeof spec === "string" ? spec : `domid ${s.domid ?? "auto"}`,
    );
  }

  /** Destroys a simulated domain (same as `xc_domain_destroy`). */
  destroyDomain(domid: number): void {
    this.#check(this.#sym.xsim_destroy_domain(domid), "xsim_destroy_domain", `domid ${domid}`);
  }

  /**
   * Whether the guest has PV drivers that answer a suspend request on
   * `control/shutdown` (acknowledge, then shut down with reason suspend),
   * and how long it takes to acknowledge, ms.
   */
  setGuestAgent(domid: number, enabled: boolean, ackMs = 0): void {
    this.#check(
      this.#sym.xsim_set_guest_agent(domid, enabled ? 1 : 0, ackMs),
      "xsim_set_guest_agent",
      `domid ${domid}`,
    );
  }

  /** Changes rate and pattern of a running domain's workload. */
  setWorkload(domid: number, workload: Workload): void {
    if (!(workload.rate >= 0)) throw new RangeError(`rate ${workload.rate} must be >= 0`);
    const [pattern, hot, on, off] = patternArgs(workload.pattern ?? { kind: "uniform" });
    this.#check(
      this.#sym.xsim_set_workload(domid, workload.rate, pattern, hot, on, off),
      "xsim_set_workload",
      `domid ${domid}`,
    );
  }

  /** Per-domain counters. */
  stats(domid: number): SimDomainStats {
    const v = new BigUint64Array(14);
    this.#check(
      this.#sym.xsim_domain_stats(domid, v, v.length),
      "xsim_domain_stats",
      `domid ${domid}`,
    );
    const n = Array.from(v, Number);
    return {
      writes: n[0],
      generation: n[1],
      outOfRange: n[2],
      holeAccess: n[3],
      pauseCount: n[4],
      writers: n[5],
      parkedWriters: n[6],
      totPages: n[7],
      maxGpfn: n[8],
      logDirty: n[9] !== 0,
      faultCount: n[10],
      dirtyCount: n[11],
      ramPages: n[12],
      vcpus: n[13],
    };
  }

  /** Process-wide counters (hypercall buffers, mappings, handles). */
  globalStats(): SimGlobalStats {
    const v = new BigUint64Array(9);
    this.#sym.xsim_global_stats(v, v.length);
    const n = Array.from(v, Number);
    return {
      hypercallBuffersLive: n[0],
      hypercallBuffersTotal: n[1],
      hypercallBufferBadFrees: n[2],
      mappingsLive: n[3],
      handlesLive: n[4],
      outOfRangeTotal: n[5],
      xenstoreHandlesLive: n[6],
      xenstoreTransactionsOpen: n[7],
      xenstoreNodes: n[8],
    };
  }

  /** Checks one page's stamp with the simulator's C implementation. */
  verifyPage(page: Uint8Array, pfn: number): "stamped" | "zero" | "corrupt" {
    if (page.length !== 4096) throw new RangeError(`page is ${page.length} bytes, not 4096`);
    const rc = this.#sym.xsim_verify_page(page.slice(), BigInt(pfn));
    return rc > 0 ? "stamped" : rc === 0 ? "zero" : "corrupt";
  }

  /** Checks every populated page of a domain; counts bad stamps. */
  verifyDomain(domid: number): { bad: number; firstBad?: number } {
    const first = new BigUint64Array(1);
    const bad = this.#check(
      this.#sym.xsim_verify_domain(domid, first),
      "xsim_verify_domain",
      `domid ${domid}`,
    );
    return bad ? { bad, firstBad: Number(first[0]) } : { bad };
  }

  /** The generation stamped in one page (0: never written). */
  pageGeneration(domid: number, pfn: number): number {
    return this.#check(
      this.#sym.xsim_page_generation(domid, BigInt(pfn)),
      "xsim_page_generation",
      `domid ${domid}, pfn ${pfn}`,
    );
  }

  /**
   * Guest writes on demand, through the same path as the workload (stamp,
   * then dirty bit); for deterministic tests.  Ignores pause.
   */
  writePages(domid: number, pfns: ArrayLike<number>): void {
    const arr = pfnArray(pfns);
    this.#check(
      this.#sym.xsim_write_pages(domid, arr, BigInt(pfns.length)),
      "xsim_write_pages",
      `domid ${domid}`,
    );
  }

  /** Destroys every simulated domain. */
  reset(): void {
    this.#sym.xsim_reset();
  }

  /** Unbinds (the simulator's state lives on with the process). */
  close(): void {
    this.#lib?.close();
    this.#lib = null;
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
