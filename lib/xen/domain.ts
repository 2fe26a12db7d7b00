/**
 * One domain as the migration engine sees it: state queries, pause,
 * log-dirty, the HVM records the stream carries, and the restore-side
 * setup calls.  Obtain with `hypervisor.domain(domid)` or
 * `hypervisor.createDomain(...)`.
 *
 * @module
 */

import type { XenCalls } from "./calls.ts";
import { LogDirty, type Releasable } from "./log_dirty.ts";
import type {
  CpuPolicy,
  DomainInfo,
  DomainState,
  GnttabSeed,
  PodTarget,
  TscInfo,
  VcpuInfo,
} from "./types.ts";

/**
 * A domain handle.  Holds no native resource itself; every method is one
 * Xen call and throws a {@linkcode XenError} naming it on failure.
 *
 * @example Pause a simulated guest and read its state
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * using s = await openHypervisor({ sim: "mem=64M,vcpus=2" });
 * const dom = s.hv.domain(s.domid!);
 * dom.pause();
 * console.log(dom.info().paused); // true
 * console.log(dom.vcpuInfo(1).online); // true
 * dom.unpause();
 * ```
 */
export class Domain {
  /** The domain id. */
  readonly domid: number;
  /** Log-dirty control of this domain. */
  readonly logDirty: LogDirty;
  #calls: XenCalls;
  #onDestroy: (domid: number) => void;

  /** @internal Built by `Hypervisor`. */
  constructor(
    calls: XenCalls,
    domid: number,
    tracker: Set<Releasable>,
    onDestroy: (domid: number) => void,
  ) {
    this.#calls = calls;
    this.domid = domid;
    this.logDirty = new LogDirty(calls, domid, tracker);
    this.#onDestroy = onDestroy;
  }

  /** Current state (`xc_domain_getinfolist` for this domid). */
  info(): DomainInfo {
    return this.#calls.domainInfo(this.domid);
  }

  /** Run state alone (paused, shut down and why, dying): cheaper than {@linkcode info} to poll. */
  state(): DomainState {
    return this.#calls.domainState(this.domid);
  }

  /** `xc_domain_pause`; returns once the guest's vcpus have stopped. */
  pause(): void {
    this.#calls.pause(this.domid);
  }

  /** `xc_domain_unpause`. */
  unpause(): void {
    this.#calls.unpause(this.domid);
  }

  /** Highest guest pfn (`xc_domain_maximum_gpfn`); the p2m has this + 1 entries. */
  maxGpfn(): number {
    return this.#calls.maximumGpfn(this.domid);
  }

  /** Populate-on-demand state (`xc_domain_get_pod_target`; HVM only). */
  podTarget(): PodTarget {
    return this.#calls.podTarget(this.domid);
  }

  /** `XEN_DOMCTL_PFINFO_*` type of each pfn (`xc_get_pfn_type_batch`). */
  pfnTypes(pfns: ArrayLike<number>): Uint32Array {
    return this.#calls.pfnTypes(this.domid, pfns);
  }

  /** The HVM context blob (`xc_domain_hvm_getcontext`). */
  hvmContext(): Uint8Array {
    return this.#calls.hvmGetContext(this.domid);
  }

  /** Loads an HVM context blob (`xc_domain_hvm_setcontext`). */
  setHvmContext(blob: Uint8Array): void {
    this.#calls.hvmSetContext(this.domid, blob);
  }

  /** `xc_hvm_param_get` of an `HVM_PARAM_*` index. */
  hvmParam(param: number): bigint {
    return this.#calls.hvmParamGet(this.domid, param);
  }

  /** `xc_hvm_param_set`. */
  setHvmParam(param: number, value: bigint | number): void {
    this.#calls.hvmParamSet(this.domid, param, BigInt(value));
  }

  /** `xc_domain_get_tsc_info`. */
  tscInfo(): TscInfo {
    return this.#calls.tscInfo(this.domid);
  }

  /** `xc_domain_set_tsc_info`. */
  setTscInfo(info: TscInfo): void {
    this.#calls.setTscInfo(this.domid, info);
  }

  /** The CPU policy as X86_CPUID_POLICY / X86_MSR_POLICY entries. */
  cpuPolicy(): CpuPolicy {
    return this.#calls.cpuPolicy(this.domid);
  }

  /** `xc_set_domain_cpu_policy`. */
  setCpuPolicy(policy: CpuPolicy): void {
    this.#calls.setCpuPolicy(this.domid, policy);
  }

  /** `xc_vcpu_getinfo`. */
  vcpuInfo(vcpu: number): VcpuInfo {
    return this.#calls.vcpuInfo(this.domid, vcpu);
  }

  /** `xc_domain_setmaxmem`, in KiB as libxc takes it. */
  setMaxMem(kib: number): void {
    this.#calls.setMaxMem(this.domid, kib);
  }

  /**
   * `xc_set_paging_mempool_size`: the pool the hypervisor builds this HVM
   * domain's p2m (HAP) page tables from, in bytes.  libxl sizes it at
   * creation; left at Xen's minimal default, splitting the p2m for
   * log-dirty (the next migration) can run it dry.
   */
  setPagingMempool(bytes: number): void {
    this.#calls.setPagingMempool(this.domid, bytes);
  }

  /** `xc_domain_max_vcpus`. */
  setMaxVcpus(max: number): void {
    this.#calls.setMaxVcpus(this.domid, max);
  }

  /** `xc_domain_populate_physmap_exact` of extents of `2^order` pages. */
  populatePhysmap(pfns: ArrayLike<number>, order = 0): void {
    this.#calls.populatePhysmap(this.domid, pfns, order);
  }

  /** `xc_evtchn_alloc_unbound`: a new port of this domain for `remote` (a backend) to bind. */
  allocUnboundEvtchn(remote = 0): number {
    return this.#calls.evtchnAllocUnbound(this.domid, remote);
  }

  /** `xc_dom_gnttab_seed`: grant entries for the console and xenstore rings. */
  seedGrantTable(seed: GnttabSeed): void {
    this.#calls.gnttabSeed(this.domid, seed);
  }

  /**
   * `xc_domain_resume`: ends a suspend.  `fast` (cooperative) makes the
   * guest's suspend hypercall return 1, "cancelled", so it carries on with
   * its own event channels and rings, as after `xl save -c`.
   */
  resume(fast = true): void {
    this.#calls.resume(this.domid, fast);
  }

  /** `xc_domain_destroy`; frees this handle's log-dirty buffer first. */
  destroy(): void {
    this.logDirty.release();
    this.#calls.destroy(this.domid);
    this.#onDestroy(this.domid);
  }
}
