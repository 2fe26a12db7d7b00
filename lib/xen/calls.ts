/**
 * The checked call layer: each method makes one C call, turns a failure
 * into a {@linkcode XenError} (errno read straight after the call, plus
 * libxc's last-error text), and converts between C buffers and plain
 * data.  Internal: the facade classes own the only instances, and no
 * pointer leaves this module except through them.
 *
 * @module
 */

import {
  DOMID_FIRST_RESERVED,
  XEN_DOMCTL_CDF_hap,
  XEN_DOMCTL_CDF_hvm,
  XEN_DOMINF_blocked,
  XEN_DOMINF_dying,
  XEN_DOMINF_hap,
  XEN_DOMINF_hvm_guest,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownmask,
  XEN_DOMINF_shutdownshift,
  XEN_X86_EMU_ALL,
  XEN_X86_EMU_VPCI,
} from "./constants.ts";
import {
  getBigField,
  getBytes,
  getField,
  packPfns,
  pfnArray,
  setBytes,
  setField,
  structBuffer,
} from "./codec.ts";
import { XenError } from "./errors.ts";
import { LAYOUTS } from "./layout.ts";
import type { Backend, XenLibraries } from "./library.ts";
import type {
  CpuPolicy,
  CreateDomainConfig,
  DomainInfo,
  DomainState,
  GnttabSeed,
  LogDirtyStats,
  PodTarget,
  TscInfo,
  VcpuInfo,
} from "./types.ts";

const EBADF = 9;
const ENOMEM = 12;
const EINVAL = 22;

/** A hypercall buffer: the C descriptor plus the pages it owns. */
export interface HypercallBuffer {
  /** The `xc_hypercall_buffer_t`, passed by address to libxc. */
  readonly desc: Uint8Array<ArrayBuffer>;
  /** Its data pages. */
  readonly pointer: Deno.PointerObject;
  /** Size in pages. */
  readonly pages: number;
}

function uuid(bytes: Uint8Array): string {
  const h = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The struct `xc_domain_getinfolist` fills. */
const INFO = "xen_domctl_getdomaininfo";

/** Entry `i` of a `xen_domctl_getdomaininfo` array. */
function decodeInfo(buf: Uint8Array, i: number): DomainInfo {
  return {
    domid: getField(buf, INFO, "domain", i),
    ...domainState(getField(buf, INFO, "flags", i)),
    totPages: getField(buf, INFO, "tot_pages", i),
    maxPages: getField(buf, INFO, "max_pages", i),
    shrPages: getField(buf, INFO, "shr_pages", i),
    pagedPages: getField(buf, INFO, "paged_pages", i),
    sharedInfoFrame: getField(buf, INFO, "shared_info_frame", i),
    cpuTimeNs: getBigField(buf, INFO, "cpu_time", i),
    onlineVcpus: getField(buf, INFO, "nr_online_vcpus", i),
    maxVcpuId: getField(buf, INFO, "max_vcpu_id", i),
    ssidref: getField(buf, INFO, "ssidref", i),
    handle: uuid(getBytes(buf, INFO, "handle", i)),
    cpupool: getField(buf, INFO, "cpupool", i),
    gpaddrBits: getField(buf, INFO, "gpaddr_bits", i),
    emulationFlags: getField(buf, INFO, "arch_config.emulation_flags", i),
    miscFlags: getField(buf, INFO, "arch_config.misc_flags", i),
  };
}

/** The run state in a domain's `XEN_DOMINF_*` flags. */
function domainState(flags: number): DomainState {
  return {
    flags,
    dying: (flags & XEN_DOMINF_dying) !== 0,
    hvm: (flags & XEN_DOMINF_hvm_guest) !== 0,
    hap: (flags & XEN_DOMINF_hap) !== 0,
    paused: (flags & XEN_DOMINF_paused) !== 0,
    running: (flags & XEN_DOMINF_running) !== 0,
    blocked: (flags & XEN_DOMINF_blocked) !== 0,
    shutdown: (flags & XEN_DOMINF_shutdown) !== 0,
    shutdownCode: (flags >>> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask,
  };
}

function checkDomid(domid: number): void {
  if (!Number.isInteger(domid) || domid < 0 || domid >= DOMID_FIRST_RESERVED) {
    throw new RangeError(`domid ${domid} is not in 0..${DOMID_FIRST_RESERVED - 1}`);
  }
}

/** One open xc_interface and xenforeignmemory handle over loaded libraries. */
export class XenCalls {
  readonly backend: Backend;
  #libs: XenLibraries;
  #xch: Deno.PointerObject | null;
  #fmem: Deno.PointerObject | null;
  #typeWords = new Uint32Array(2048);
  #stateBuf = structBuffer(INFO);

  private constructor(
    libs: XenLibraries,
    backend: Backend,
    xch: Deno.PointerObject,
    fmem: Deno.PointerObject,
  ) {
    this.#libs = libs;
    this.backend = backend;
    this.#xch = xch;
    this.#fmem = fmem;
  }

  /** Opens both handles; the caller has already checked for privcmd. */
  static open(libs: XenLibraries, backend: Backend): XenCalls {
    const xch = libs.ctrl.symbols.xc_interface_open(null, null, 0);
    if (xch === null) {
      const errno = libs.errno() || ENOMEM;
      libs.close();
      throw new XenError("xc_interface_open", errno);
    }
    const fmem = libs.fmem.symbols.xenforeignmemory_open(null, 0);
    if (fmem === null) {
      const errno = libs.errno() || ENOMEM;
      libs.ctrl.symbols.xc_interface_close(xch);
      libs.close();
      throw new XenError("xenforeignmemory_open", errno);
    }
    return new XenCalls(libs, backend, xch, fmem);
  }

  /** Whether {@linkcode close} has run. */
  get closed(): boolean {
    return this.#xch === null;
  }

  /** The loaded libraries (for the xenstore connection, which has its own handle). */
  get libraries(): XenLibraries {
    return this.#libs;
  }

  /** Closes both handles and unloads the libraries; idempotent. */
  close(): void {
    if (this.#xch === null || this.#fmem === null) return;
    this.#libs.fmem.symbols.xenforeignmemory_close(this.#fmem);
    this.#libs.ctrl.symbols.xc_interface_close(this.#xch);
    this.#xch = this.#fmem = null;
    this.#libs.close();
  }

  #handle(call: string, subject?: string): Deno.PointerObject {
    if (this.#xch === null) {
      throw new XenError(call, EBADF, { subject, reason: "hypervisor handle is closed" });
    }
    return this.#xch;
  }

  #fmemHandle(call: string, subject?: string): Deno.PointerObject {
    if (this.#fmem === null) {
      throw new XenError(call, EBADF, { subject, reason: "hypervisor handle is closed" });
    }
    return this.#fmem;
  }

  /** Throws for the call that just failed; reads errno before anything else. */
  #fail(call: string, subject?: string, reason?: string): never {
    const errno = this.#libs.errno() || EINVAL;
    let detail: string | undefined;
    if (this.#xch !== null && call.startsWith("xc_")) {
      const err = this.#libs.ctrl.symbols.xc_get_last_error(this.#xch);
      if (err !== null) {
        const view = new Deno.UnsafePointerView(err);
        if (view.getInt32(0) !== 0) {
          detail = view.getCString(LAYOUTS.xc_error.fields.message.offset);
        }
      }
      // Cleared so a later failure that sets no message cannot show this one.
      this.#libs.ctrl.symbols.xc_clear_last_error(this.#xch);
    }
    throw new XenError(call, errno, { subject, reason, detail });
  }

  /** `xc_domain_getinfolist`: up to `max` domains with domid >= `first`. */
  domainInfoList(first: number, max: number): DomainInfo[] {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max ${max} must be >= 1`);
    const buf = structBuffer(INFO, max);
    const n = this.#getinfolist(first, max, buf);
    return Array.from({ length: n }, (_, i) => decodeInfo(buf, i));
  }

  /**
   * One domain's run state alone: what a poll for a guest's suspend needs,
   * without decoding (and allocating) the rest of its info each time.
   */
  domainState(domid: number): DomainState {
    this.#getinfoOf(domid, this.#stateBuf);
    return domainState(getField(this.#stateBuf, INFO, "flags"));
  }

  /**
   * One domain's info.  4.17 has no `xc_domain_getinfo_single`; this is its
   * equivalent: list from `domid`, and insist the first entry is `domid`.
   */
  domainInfo(domid: number): DomainInfo {
    const buf = structBuffer(INFO);
    this.#getinfoOf(domid, buf);
    return decodeInfo(buf, 0);
  }

  /** `xc_domain_getinfolist` into `buf`; returns how many entries it filled. */
  #getinfolist(first: number, max: number, buf: Uint8Array): number {
    checkDomid(first);
    const call = "xc_domain_getinfolist";
    const n = this.#libs.ctrl.symbols[call](this.#handle(call), first, max, buf);
    if (n < 0) this.#fail(call, `first domid ${first}`);
    return n;
  }

  /** `domid`'s entry into `buf`; ESRCH when there is no such domain. */
  #getinfoOf(domid: number, buf: Uint8Array): void {
    if (this.#getinfolist(domid, 1, buf) === 0 || getField(buf, INFO, "domain") !== domid) {
      throw new XenError("xc_domain_getinfolist", 3, { subject: `domid ${domid}` });
    }
  }

  #simple(
    call: "xc_domain_pause" | "xc_domain_unpause" | "xc_domain_destroy",
    domid: number,
  ): void {
    checkDomid(domid);
    const subject = `domid ${domid}`;
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid) < 0) {
      this.#fail(call, subject);
    }
  }

  /** `xc_domain_pause`. */
  pause(domid: number): void {
    this.#simple("xc_domain_pause", domid);
  }

  /** `xc_domain_unpause`. */
  unpause(domid: number): void {
    this.#simple("xc_domain_unpause", domid);
  }

  /** `xc_domain_destroy`. */
  destroy(domid: number): void {
    this.#simple("xc_domain_destroy", domid);
  }

  /** `xc_domain_maximum_gpfn`. */
  maximumGpfn(domid: number): number {
    checkDomid(domid);
    const out = new BigUint64Array(1);
    const call = "xc_domain_maximum_gpfn";
    const subject = `domid ${domid}`;
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, out) < 0) {
      this.#fail(call, subject);
    }
    return Number(out[0]);
  }

  /** `xc_domain_get_pod_target`. */
  podTarget(domid: number): PodTarget {
    checkDomid(domid);
    const out = new BigUint64Array(3);
    const call = "xc_domain_get_pod_target";
    const subject = `domid ${domid}`;
    const at = (i: number) => out.subarray(i, i + 1);
    if (
      this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, at(0), at(1), at(2)) < 0
    ) {
      this.#fail(call, subject);
    }
    return { totPages: Number(out[0]), podCachePages: Number(out[1]), podEntries: Number(out[2]) };
  }

  /** `xc__hypercall_buffer_alloc_pages` with a fresh descriptor. */
  allocHypercallBuffer(pages: number): HypercallBuffer {
    const call = "xc__hypercall_buffer_alloc_pages";
    if (!Number.isInteger(pages) || pages < 1 || pages > 0x7fffffff) {
      throw new RangeError(`hypercall buffer of ${pages} pages is not in 1..2^31-1`);
    }
    const desc = structBuffer("xc_hypercall_buffer");
    // DECLARE_HYPERCALL_BUFFER: hbuf NULL, no shadow, no bounce (ubuf = (void *)-1).
    setField(desc, "xc_hypercall_buffer", "ubuf", 0xffffffffffffffffn);
    const p = this.#libs.ctrl.symbols[call](this.#handle(call), desc, pages);
    if (p === null) this.#fail(call, `${pages} pages`);
    return { desc, pointer: p, pages };
  }

  /** `xc__hypercall_buffer_free_pages`. */
  freeHypercallBuffer(buf: HypercallBuffer): void {
    this.#libs.ctrl.symbols.xc__hypercall_buffer_free_pages(
      this.#handle("xc__hypercall_buffer_free_pages"),
      buf.desc,
      buf.pages,
    );
  }

  /** `xc_logdirty_control`; returns stats for CLEAN/PEEK. */
  logdirty(
    domid: number,
    op: number,
    opName: string,
    buf: HypercallBuffer | null,
    pages: number,
    mode: number,
  ): LogDirtyStats {
    checkDomid(domid);
    const call = "xc_logdirty_control";
    const subject = `domid ${domid}, ${opName}`;
    const stats = structBuffer("xen_domctl_shadow_op_stats");
    const rc = Number(
      this.#libs.ctrl.symbols[call](
        this.#handle(call, subject),
        domid,
        op,
        buf?.desc ?? null,
        BigInt(pages),
        mode,
        stats,
      ),
    );
    if (rc < 0) this.#fail(call, subject);
    return {
      dirtyCount: getField(stats, "xen_domctl_shadow_op_stats", "dirty_count"),
      faultCount: getField(stats, "xen_domctl_shadow_op_stats", "fault_count"),
      pages: rc,
    };
  }

  /** `xc_get_pfn_type_batch`, 1024 pfns per call like libxc's save. */
  pfnTypes(domid: number, pfns: ArrayLike<number>): Uint32Array {
    checkDomid(domid);
    const call = "xc_get_pfn_type_batch";
    const out = new Uint32Array(pfns.length);
    // One reused xen_pfn_t[1024] (as two u32 words each): a save asks for
    // the types of every pfn of the physmap, 1024 at a time, so per-call
    // allocations add up (seconds under emulation).
    const words = this.#typeWords;
    const bytes = new Uint8Array(words.buffer);
    for (let at = 0; at < pfns.length; at += 1024) {
      const n = Math.min(1024, pfns.length - at);
      packPfns(pfns, at, n, words);
      if (this.#libs.ctrl.symbols[call](this.#handle(call), domid, n, bytes) < 0) {
        this.#fail(call, `domid ${domid}, ${n} pfns from ${pfns[at]}`);
      }
      for (let i = 0; i < n; i++) out[at + i] = words[2 * i];
    }
    return out;
  }

  /** `xc_domain_hvm_getcontext`: size query, then fetch. */
  hvmGetContext(domid: number): Uint8Array {
    checkDomid(domid);
    const call = "xc_domain_hvm_getcontext";
    const subject = `domid ${domid}`;
    const sym = this.#libs.ctrl.symbols[call];
    for (let attempt = 0;; attempt++) {
      const size = sym(this.#handle(call, subject), domid, null, 0);
      if (size < 0) this.#fail(call, subject);
      const buf = new Uint8Array(size);
      const got = sym(this.#handle(call, subject), domid, buf, size);
      // The context can grow between the two calls (a vcpu came up); retry once.
      if (got < 0 && this.#libs.errno() === 28 && attempt === 0) continue;
      if (got < 0) this.#fail(call, subject);
      return buf.subarray(0, got);
    }
  }

  /** `xc_domain_hvm_setcontext`. */
  hvmSetContext(domid: number, blob: Uint8Array): void {
    checkDomid(domid);
    const call = "xc_domain_hvm_setcontext";
    const subject = `domid ${domid}, ${blob.length} bytes`;
    if (blob.length === 0) throw new RangeError("HVM context blob is empty");
    // libxc takes a non-const pointer; hand it a copy, not the caller's bytes.
    const copy = blob.slice();
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, copy, copy.length) < 0) {
      this.#fail(call, subject);
    }
  }

  /** `xc_hvm_param_get`. */
  hvmParamGet(domid: number, param: number): bigint {
    checkDomid(domid);
    const call = "xc_hvm_param_get";
    const subject = `domid ${domid}, param ${param}`;
    const out = new BigUint64Array(1);
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, param, out) < 0) {
      this.#fail(call, subject);
    }
    return out[0];
  }

  /** `xc_hvm_param_set`. */
  hvmParamSet(domid: number, param: number, value: bigint): void {
    checkDomid(domid);
    const call = "xc_hvm_param_set";
    const subject = `domid ${domid}, param ${param}`;
    if (
      this.#libs.ctrl.symbols[call](
        this.#handle(call, subject),
        domid,
        param,
        BigInt.asUintN(64, value),
      ) < 0
    ) {
      this.#fail(call, subject);
    }
  }

  /** `xc_domain_get_tsc_info`. */
  tscInfo(domid: number): TscInfo {
    checkDomid(domid);
    const call = "xc_domain_get_tsc_info";
    const subject = `domid ${domid}`;
    const mode = new Uint32Array(1), khz = new Uint32Array(1), inc = new Uint32Array(1);
    const elapsed = new BigUint64Array(1);
    if (
      this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, mode, elapsed, khz, inc) < 0
    ) {
      this.#fail(call, subject);
    }
    return { mode: mode[0], elapsedNsec: elapsed[0], gtscKhz: khz[0], incarnation: inc[0] };
  }

  /** `xc_domain_set_tsc_info`. */
  setTscInfo(domid: number, info: TscInfo): void {
    checkDomid(domid);
    const call = "xc_domain_set_tsc_info";
    const subject = `domid ${domid}`;
    const rc = this.#libs.ctrl.symbols[call](
      this.#handle(call, subject),
      domid,
      info.mode,
      info.elapsedNsec,
      info.gtscKhz,
      info.incarnation,
    );
    if (rc < 0) this.#fail(call, subject);
  }

  /** `xc_vcpu_getinfo`. */
  vcpuInfo(domid: number, vcpu: number): VcpuInfo {
    checkDomid(domid);
    const call = "xc_vcpu_getinfo";
    const subject = `domid ${domid}, vcpu ${vcpu}`;
    const T = "xen_domctl_getvcpuinfo";
    const buf = structBuffer(T);
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, vcpu, buf) < 0) {
      this.#fail(call, subject);
    }
    return {
      vcpu: getField(buf, T, "vcpu"),
      online: getField(buf, T, "online") !== 0,
      blocked: getField(buf, T, "blocked") !== 0,
      running: getField(buf, T, "running") !== 0,
      cpuTimeNs: getBigField(buf, T, "cpu_time"),
      cpu: getField(buf, T, "cpu"),
    };
  }

  /** CPU policy: `xc_cpu_policy_init/get_domain/serialise/destroy`. */
  cpuPolicy(domid: number): CpuPolicy {
    checkDomid(domid);
    const g = this.#libs.guest.symbols;
    const subject = `domid ${domid}`;
    const xch = this.#handle("xc_cpu_policy_get_domain", subject);
    const nl = new Uint32Array(1), nm = new Uint32Array(1);
    if (g.xc_cpu_policy_get_size(xch, nl, nm) < 0) this.#fail("xc_cpu_policy_get_size");
    const policy = g.xc_cpu_policy_init();
    if (policy === null) throw new XenError("xc_cpu_policy_init", ENOMEM);
    try {
      if (g.xc_cpu_policy_get_domain(xch, domid, policy) < 0) {
        this.#fail("xc_cpu_policy_get_domain", subject);
      }
      const leaves = structBuffer("xen_cpuid_leaf", Math.max(1, nl[0]));
      const msrs = structBuffer("xen_msr_entry", Math.max(1, nm[0]));
      if (g.xc_cpu_policy_serialise(xch, policy, leaves, nl, msrs, nm) < 0) {
        this.#fail("xc_cpu_policy_serialise", subject);
      }
      const L = "xen_cpuid_leaf", M = "xen_msr_entry";
      return {
        leaves: Array.from({ length: nl[0] }, (_, i) => ({
          leaf: getField(leaves, L, "leaf", i),
          subleaf: getField(leaves, L, "subleaf", i),
          a: getField(leaves, L, "a", i),
          b: getField(leaves, L, "b", i),
          c: getField(leaves, L, "c", i),
          d: getField(leaves, L, "d", i),
        })),
        msrs: Array.from({ length: nm[0] }, (_, i) => ({
          idx: getField(msrs, M, "idx", i),
          flags: getField(msrs, M, "flags", i),
          val: getBigField(msrs, M, "val", i),
        })),
      };
    } finally {
      g.xc_cpu_policy_destroy(policy);
    }
  }

  /** `xc_set_domain_cpu_policy`; the error names the leaf/MSR Xen objected to. */
  setCpuPolicy(domid: number, policy: CpuPolicy): void {
    checkDomid(domid);
    const call = "xc_set_domain_cpu_policy";
    const subject = `domid ${domid}`;
    const L = "xen_cpuid_leaf", M = "xen_msr_entry";
    const leaves = structBuffer(L, Math.max(1, policy.leaves.length));
    policy.leaves.forEach((l, i) => {
      for (const k of ["leaf", "subleaf", "a", "b", "c", "d"] as const) {
        setField(leaves, L, k, l[k], i);
      }
    });
    const msrs = structBuffer(M, Math.max(1, policy.msrs.length));
    policy.msrs.forEach((m, i) => {
      setField(msrs, M, "idx", m.idx, i);
      setField(msrs, M, "flags", m.flags, i);
      setField(msrs, M, "val", m.val, i);
    });
    const el = new Uint32Array(1), esl = new Uint32Array(1), em = new Uint32Array(1);
    const rc = this.#libs.guest.symbols[call](
      this.#handle(call, subject),
      domid,
      policy.leaves.length,
      leaves,
      policy.msrs.length,
      msrs,
      el,
      esl,
      em,
    );
    if (rc < 0) {
      const hex = (n: number) => `0x${n.toString(16)}`;
      const blame = [
        el[0] !== 0xffffffff ? `leaf ${hex(el[0])}/${hex(esl[0])}` : "",
        em[0] !== 0xffffffff ? `MSR ${hex(em[0])}` : "",
      ].filter(Boolean).join(", ");
      this.#fail(call, blame ? `${subject}, rejected ${blame}` : subject);
    }
  }

  /** `xc_domain_create`; returns the new domid. */
  createDomain(config: CreateDomainConfig): number {
    const call = "xc_domain_create";
    const T = "xen_domctl_createdomain";
    const buf = structBuffer(T);
    setField(buf, T, "flags", config.flags ?? XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap);
    setField(buf, T, "max_vcpus", config.maxVcpus);
    setField(buf, T, "max_evtchn_port", config.maxEvtchnPort ?? 1023);
    setField(buf, T, "max_grant_frames", config.maxGrantFrames ?? -1);
    setField(buf, T, "max_maptrack_frames", config.maxMaptrackFrames ?? -1);
    setField(buf, T, "grant_opts", config.grantVersion ?? 1);
    setField(buf, T, "cpupool_id", config.cpupool ?? 0);
    setField(
      buf,
      T,
      "arch.emulation_flags",
      config.emulationFlags ?? XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI,
    );
    setField(buf, T, "arch.misc_flags", config.miscFlags ?? 0);
    if (config.handle) setBytes(buf, T, "handle", config.handle);
    const domid = new Uint32Array([config.domid ?? 0]);
    if (domid[0] !== 0) checkDomid(domid[0]);
    const subject = `domid ${domid[0] || "auto"}, ${config.maxVcpus} vcpus`;
    if (
      this.#libs.ctrl.symbols[call](
        this.#handle(call, subject),
        new Uint8Array(domid.buffer),
        buf,
      ) < 0
    ) {
      this.#fail(call, subject);
    }
    return domid[0];
  }

  /** `xc_domain_setmaxmem` (KiB). */
  setMaxMem(domid: number, kib: number): void {
    checkDomid(domid);
    const call = "xc_domain_setmaxmem";
    const subject = `domid ${domid}, ${kib} KiB`;
    if (!Number.isSafeInteger(kib) || kib < 0) {
      throw new RangeError(`max mem ${kib} KiB is not a size`);
    }
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, BigInt(kib)) < 0) {
      this.#fail(call, subject);
    }
  }

  /** `xc_set_paging_mempool_size` (bytes). */
  setPagingMempool(domid: number, bytes: number): void {
    checkDomid(domid);
    const call = "xc_set_paging_mempool_size";
    const subject = `domid ${domid}, ${bytes} bytes`;
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`${bytes} is not a size`);
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, BigInt(bytes)) < 0) {
      this.#fail(call, subject);
    }
  }

  /** `xc_domain_max_vcpus`. */
  setMaxVcpus(domid: number, max: number): void {
    checkDomid(domid);
    const call = "xc_domain_max_vcpus";
    const subject = `domid ${domid}, ${max} vcpus`;
    if (this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, max) < 0) {
      this.#fail(call, subject);
    }
  }

  /** `xc_domain_populate_physmap_exact`. */
  populatePhysmap(domid: number, pfns: ArrayLike<number>, order: number): void {
    checkDomid(domid);
    const call = "xc_domain_populate_physmap_exact";
    if (pfns.length === 0) return;
    const subject = `domid ${domid}, ${pfns.length} extents of order ${order} from pfn ${pfns[0]}`;
    const arr = pfnArray(pfns);
    if (
      this.#libs.ctrl.symbols[call](
        this.#handle(call, subject),
        domid,
        BigInt(pfns.length),
        order,
        0,
        arr,
      ) < 0
    ) {
      this.#fail(call, subject);
    }
  }

  /** `xc_evtchn_alloc_unbound`: a new port of `domid` for `remote` to bind. */
  evtchnAllocUnbound(domid: number, remote: number): number {
    checkDomid(domid);
    const call = "xc_evtchn_alloc_unbound";
    const subject = `domid ${domid}, remote domid ${remote}`;
    const port = this.#libs.ctrl.symbols[call](this.#handle(call, subject), domid, remote);
    if (port < 0) this.#fail(call, subject);
    return port;
  }

  /** `xc_dom_gnttab_seed`: the grant entries backends use for the console and xenstore rings. */
  gnttabSeed(domid: number, seed: GnttabSeed): void {
    checkDomid(domid);
    const call = "xc_dom_gnttab_seed";
    const subject = `domid ${domid}, console gfn 0x${seed.consoleGfn.toString(16)}, ` +
      `xenstore gfn 0x${seed.xenstoreGfn.toString(16)}`;
    if (
      this.#libs.guest.symbols[call](
        this.#handle(call, subject),
        domid,
        seed.hvm,
        BigInt(seed.consoleGfn),
        BigInt(seed.xenstoreGfn),
        seed.consoleDomid,
        seed.xenstoreDomid,
      ) < 0
    ) {
      this.#fail(call, subject);
    }
  }

  /** `xc_domain_resume`; `fast` is the cooperative resume of a suspended guest. */
  resume(domid: number, fast: boolean): void {
    checkDomid(domid);
    const call = "xc_domain_resume";
    const subject = `domid ${domid}${fast ? ", fast" : ""}`;
    if (this.#libs.guest.symbols[call](this.#handle(call, subject), domid, fast ? 1 : 0) < 0) {
      this.#fail(call, subject);
    }
  }

  /** `xenforeignmemory_map` with a per-page error array. */
  foreignMap(
    domid: number,
    prot: number,
    pfns: ArrayLike<number>,
    errors: Int32Array<ArrayBuffer>,
  ): Deno.PointerObject {
    checkDomid(domid);
    const call = "xenforeignmemory_map";
    const subject = `domid ${domid}, ${pfns.length} pages`;
    const arr = pfnArray(pfns);
    const p = this.#libs.fmem.symbols[call](
      this.#fmemHandle(call, subject),
      domid,
      prot,
      BigInt(pfns.length),
      arr,
      new Uint8Array(errors.buffer, errors.byteOffset, errors.byteLength),
    );
    if (p === null) this.#fail(call, subject);
    return p;
  }

  /** `xenforeignmemory_unmap`. */
  foreignUnmap(p: Deno.PointerObject, pages: number): void {
    const call = "xenforeignmemory_unmap";
    if (this.#libs.fmem.symbols[call](this.#fmemHandle(call), p, BigInt(pages)) < 0) {
      this.#fail(call, `${pages} pages`);
    }
  }
}
