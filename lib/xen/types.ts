/**
 * Plain data the facade returns and accepts: no pointers, no handles.
 *
 * @module
 */

import type { CpuidLeaf, MsrEntry } from "../libxc/records.ts";

/** A domain's run state, from its `XEN_DOMINF_*` flags. */
export interface DomainState {
  /** Raw `XEN_DOMINF_*` flags. */
  flags: number;
  /** `XEN_DOMINF_dying`. */
  dying: boolean;
  /** `XEN_DOMINF_hvm_guest` (HVM or PVH). */
  hvm: boolean;
  /** `XEN_DOMINF_hap`. */
  hap: boolean;
  /** `XEN_DOMINF_paused`. */
  paused: boolean;
  /** `XEN_DOMINF_running`. */
  running: boolean;
  /** `XEN_DOMINF_blocked`. */
  blocked: boolean;
  /** `XEN_DOMINF_shutdown`. */
  shutdown: boolean;
  /** Guest-supplied shutdown code (valid when `shutdown`). */
  shutdownCode: number;
}

/** One domain, decoded from `struct xen_domctl_getdomaininfo`. */
export interface DomainInfo extends DomainState {
  /** Domain id. */
  domid: number;
  /** Pages currently allocated. */
  totPages: number;
  /** Allocation limit in pages. */
  maxPages: number;
  /** Pages shared with other domains (memory sharing); not in `totPages`. */
  shrPages: number;
  /** Pages paged out by a pager (memory paging). */
  pagedPages: number;
  /** GMFN of the shared-info page. */
  sharedInfoFrame: number;
  /** Total CPU time in nanoseconds. */
  cpuTimeNs: bigint;
  /** Online vcpus. */
  onlineVcpus: number;
  /** Highest vcpu id, or `XEN_INVALID_MAX_VCPU_ID`. */
  maxVcpuId: number;
  /** XSM label. */
  ssidref: number;
  /** The domain handle as a UUID string. */
  handle: string;
  /** CPU pool. */
  cpupool: number;
  /** Guest physical address width. */
  gpaddrBits: number;
  /** `XEN_X86_EMU_*` flags. */
  emulationFlags: number;
  /** `XEN_X86_MSR_*` flags. */
  miscFlags: number;
}

/** Populate-on-demand state of an HVM domain, from `xc_domain_get_pod_target`. */
export interface PodTarget {
  /** Pages allocated (`tot_pages`). */
  totPages: number;
  /** Pages in the PoD cache, owned but in no pfn. */
  podCachePages: number;
  /** Pfns still populate-on-demand. */
  podEntries: number;
}

/** One vcpu, from `xc_vcpu_getinfo`. */
export interface VcpuInfo {
  /** Vcpu number. */
  vcpu: number;
  /** Online (not hot-unplugged). */
  online: boolean;
  /** Blocked on an event. */
  blocked: boolean;
  /** Currently scheduled. */
  running: boolean;
  /** CPU time consumed, ns. */
  cpuTimeNs: bigint;
  /** Physical CPU it maps to. */
  cpu: number;
}

/** The migration stream's TSC_INFO record contents. */
export interface TscInfo {
  /** `XEN_CPUID_TSC_MODE_*`. */
  mode: number;
  /** Elapsed guest time, ns. */
  elapsedNsec: bigint;
  /** Guest TSC frequency, kHz. */
  gtscKhz: number;
  /** Incarnation (bumped on each restore). */
  incarnation: number;
}

/** A domain's CPU policy in the serialised form the stream carries. */
export interface CpuPolicy {
  /** CPUID leaves. */
  leaves: CpuidLeaf[];
  /** MSRs. */
  msrs: MsrEntry[];
}

/** `xc_shadow_op_stats_t` plus what `xc_logdirty_control` returned. */
export interface LogDirtyStats {
  /** Pages newly marked dirty since the last CLEAN. */
  dirtyCount: number;
  /** Log-dirty faults (tracked writes) since the last CLEAN. */
  faultCount: number;
  /** Bits Xen processed (the caller's count clipped to the p2m size). */
  pages: number;
}

/** What {@linkcode Hypervisor.createDomain} needs (`xen_domctl_createdomain`). */
export interface CreateDomainConfig {
  /** Requested domid; 0 or absent lets Xen choose. */
  domid?: number;
  /** `XEN_DOMCTL_CDF_*`; default HVM + HAP. */
  flags?: number;
  /** Maximum vcpus. */
  maxVcpus: number;
  /** Event channel limit (default 1023). */
  maxEvtchnPort?: number;
  /** Grant frames (default -1: Xen's default). */
  maxGrantFrames?: number;
  /** Maptrack frames (default -1: Xen's default). */
  maxMaptrackFrames?: number;
  /** Grant table version (default 1). */
  grantVersion?: number;
  /** `XEN_X86_EMU_*` (default: all but vPCI, as for HVM). */
  emulationFlags?: number;
  /** `XEN_X86_MSR_*`. */
  miscFlags?: number;
  /** 16-byte domain handle (UUID). */
  handle?: Uint8Array;
  /** CPU pool. */
  cpupool?: number;
}

/** CPUID leaves and MSR entries as the migration stream serialises them. */
export type { CpuidLeaf, MsrEntry } from "../libxc/records.ts";

/** Arguments of `xc_dom_gnttab_seed`. */
export interface GnttabSeed {
  /** HVM/PVH (the gfns are guest frames, not machine frames). */
  hvm: boolean;
  /** The console ring's gfn (`HVM_PARAM_CONSOLE_PFN`). */
  consoleGfn: number;
  /** The xenstore ring's gfn (`HVM_PARAM_STORE_PFN`). */
  xenstoreGfn: number;
  /** Domain running the console backend (xenconsoled: 0). */
  consoleDomid: number;
  /** Domain running xenstored (0). */
  xenstoreDomid: number;
}
