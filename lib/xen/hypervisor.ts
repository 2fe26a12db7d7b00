/**
 * The entry point of the bindings: one open libxenctrl interface and
 * foreign-memory handle, on real Xen or on the simulator.
 *
 * @module
 */

import { pathExists } from "../io/path_exists.ts";
import { XenCalls } from "./calls.ts";
import { Domain } from "./domain.ts";
import { XenError } from "./errors.ts";
import { ForeignMemory } from "./foreign_memory.ts";
import { type Backend, loadXenLibraries, simLibraryPaths, xenLibraryPaths } from "./library.ts";
import type { Releasable } from "./log_dirty.ts";
import type { CreateDomainConfig, DomainInfo } from "./types.ts";
import { XenStore } from "./xenstore.ts";
import { removeGuestEntries } from "./guest_xenstore.ts";
import { removeUserdata } from "./libxl_userdata.ts";

/** The device whose presence makes this a Xen dom0. */
export const PRIVCMD = "/dev/xen/privcmd";

/** Options of {@linkcode Hypervisor.open}. */
export interface HypervisorOptions {
  /** `"xen"` for the real libraries, `"sim"` for the simulator. */
  backend: Backend;
  /**
   * `"xen"`: directory holding libxenctrl.so.4.17 and friends, or its path
   * (default: the system's).  `"sim"`: path of libxenctrl-sim.so (required).
   */
  library?: string;
}

/**
 * An open hypervisor interface.  Close it (or `using` it) to unmap every
 * foreign mapping and free every hypercall buffer it still holds.
 *
 * @example List simulated domains
 * ```ts
 * import { Hypervisor } from "./hypervisor.ts";
 * import { buildSimulator } from "../../native/build.ts";
 * using hv = Hypervisor.open({ backend: "sim", library: await buildSimulator() });
 * const dom = hv.createDomain({ maxVcpus: 1 });
 * console.log(hv.domains().some((d) => d.domid === dom.domid)); // true
 * dom.destroy();
 * ```
 */
export class Hypervisor implements Disposable {
  /** Which implementation answers. */
  readonly backend: Backend;
  /** Guest memory access. */
  readonly foreignMemory: ForeignMemory;
  #calls: XenCalls;
  #tracker = new Set<Releasable>();
  #domains = new Map<number, Domain>();
  #xenstore?: XenStore;

  private constructor(calls: XenCalls) {
    this.#calls = calls;
    this.backend = calls.backend;
    this.foreignMemory = new ForeignMemory(calls, this.#tracker);
  }

  /**
   * Opens the interface.  On `"xen"` without `/dev/xen/privcmd` this
   * throws `xc_interface_open: ENOENT (not a Xen dom0 (no /dev/xen/privcmd))`
   * rather than letting libxc fail obscurely.
   */
  static open(options: HypervisorOptions): Hypervisor {
    if (options.backend === "sim") {
      if (!options.library) {
        throw new TypeError("the sim backend needs the simulator's path (see buildSimulator())");
      }
      return new Hypervisor(
        XenCalls.open(loadXenLibraries(simLibraryPaths(options.library)), "sim"),
      );
    }
    if (options.backend !== "xen") throw new TypeError(`unknown backend ${options.backend}`);
    const libs = loadXenLibraries(xenLibraryPaths(options.library));
    if (!pathExists(PRIVCMD)) {
      libs.close();
      throw new XenError("xc_interface_open", 2, { reason: `not a Xen dom0 (no ${PRIVCMD})` });
    }
    return new Hypervisor(XenCalls.open(libs, "xen"));
  }

  /** Whether {@linkcode close} has run. */
  get closed(): boolean {
    return this.#calls.closed;
  }

  /**
   * The xenstore connection, opened on first use; throws `xs_open: ...`
   * when xenstored cannot be reached.
   */
  get xenstore(): XenStore {
    if (this.#calls.closed) throw new XenError("xs_open", 9, { reason: "hypervisor is closed" });
    return this.#xenstore ??= new XenStore(this.#calls.libraries);
  }

  /** A handle on an existing domain; throws ESRCH if there is none. */
  domain(domid: number): Domain {
    const known = this.#domains.get(domid);
    if (known) return known;
    this.#calls.domainInfo(domid);
    const dom = new Domain(this.#calls, domid, this.#tracker, (id) => {
      this.#domains.delete(id);
      this.#forget(id);
    });
    this.#domains.set(domid, dom);
    return dom;
  }

  /**
   * After a destroy: what the toolstack wrote to xenstore for the domain
   * goes too, as with `xl destroy`.  Only when xenstore is reachable and
   * holds the domain: the destroy itself has already succeeded.
   */
  #forget(domid: number): void {
    if (this.backend === "xen") removeUserdata(domid);
    let xs: XenStore;
    try {
      xs = this.xenstore;
    } catch {
      return;
    }
    if (xs.read(`/local/domain/${domid}`) !== undefined || xs.isIntroduced(domid)) {
      // One hypercall for the uuids still in use, rather than a xenstore
      // read per domain: this runs while a migrated guest resumes.
      const uuids = new Set(this.domains().filter((d) => d.domid !== domid).map((d) => d.handle));
      removeGuestEntries(xs, domid, uuids);
    }
  }

  /** Every domain, in domid order. */
  domains(): DomainInfo[] {
    const out: DomainInfo[] = [];
    for (let first = 0;;) {
      const batch = this.#calls.domainInfoList(first, 64);
      out.push(...batch);
      if (batch.length < 64) return out;
      first = batch[batch.length - 1].domid + 1;
    }
  }

  /** Creates an (empty, paused) domain for a restore: `xc_domain_create`. */
  createDomain(config: CreateDomainConfig): Domain {
    return this.domain(this.#calls.createDomain(config));
  }

  /**
   * Binds every library function now; otherwise each is bound on its first
   * use, which compiles a call trampoline (about 8 ms in an emulated dom0).
   * A live save calls this before it stops the guest and a receiver before
   * the stream's end, so that no binding lands in a guest's downtime.
   */
  bindAll(): void {
    this.#calls.libraries.bindAll();
  }

  /** Releases mappings and buffers, then closes the handles.  Idempotent. */
  close(): void {
    if (this.#calls.closed) return;
    for (const r of [...this.#tracker]) {
      try {
        r.release();
      } catch { /* keep releasing the rest */ }
    }
    this.#domains.clear();
    this.#xenstore?.close();
    this.#calls.close();
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
