/**
 * Saving a running HVM/PVH domain, live or not, as Xen 4.17's libxc does —
 * as a state machine the CLI runs to completion and the REPL steps through:
 *
 * 1. {@linkcode SaveSession.start}: stream headers, static data (CPUID and
 *    MSR policy, STATIC_DATA_END); live: log-dirty on and a first pass over
 *    every pfn; non-live: suspend first, then that pass.
 * 2. {@linkcode SaveSession.step} (live): one precopy iteration — send the
 *    pages the last CLEAN reported, then CLEAN again.
 * 3. {@linkcode SaveSession.finish}: stop-and-copy — suspend the guest
 *    (see `guest_suspend.ts`; paused if it cannot be asked), final CLEAN,
 *    send what is dirty, then X86_TSC_INFO, HVM_CONTEXT, HVM_PARAMS and END
 *    (Xen 4.17's order), and the libxl END.
 * 4. {@linkcode SaveSession.abort} at any point: log-dirty off, the guest
 *    resumed (unless it was paused before), nothing more written.
 *
 * A {@linkcode PrecopyPolicy} decides between steps; {@linkcode SaveSession.run}
 * does the whole loop.
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import { BufferedWriter } from "../io/buffered_writer.ts";
import { PAGE_SIZE, REC_TYPE } from "../libxc/constants.ts";
import { encodeLibxcRecord, type HvmParam } from "../libxc/records.ts";
import type { Domain } from "../xen/domain.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";
import type { TscInfo } from "../xen/types.ts";
import { bitmapBytes } from "../xen/log_dirty.ts";
import {
  HVM_PARAM_ACPI_IOPORTS_LOCATION,
  HVM_PARAM_BUFIOREQ_PFN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_IDENT_PT,
  HVM_PARAM_IOREQ_PFN,
  HVM_PARAM_IOREQ_SERVER_PFN,
  HVM_PARAM_MCA_CAP,
  HVM_PARAM_MONITOR_RING_PFN,
  HVM_PARAM_NR_IOREQ_SERVER_PAGES,
  HVM_PARAM_PAGING_RING_PFN,
  HVM_PARAM_SHARING_RING_PFN,
  HVM_PARAM_STORE_PFN,
  HVM_PARAM_VIRIDIAN,
  HVM_PARAM_VM86_TSS_SIZED,
  HVM_PARAM_VM_GENERATION_ID_ADDR,
  HVM_PARAM_X87_FIP_WIDTH,
} from "../xen/constants.ts";
import { guestName } from "../xen/guest_xenstore.ts";
import { domainConfig, type KnownGuest } from "./domain_config.ts";
import { GuestSuspender, type SuspendMethod, type SuspendOptions } from "./guest_suspend.ts";
import { ownedPageCount, P2mWalk } from "./p2m_walk.ts";
import { PageSender } from "./page_sender.ts";
import {
  type IterationStats,
  type PolicyDecision,
  type PrecopyPolicy,
  type PrecopyStats,
  xenPolicy,
} from "./policy.ts";
import {
  type EmulatorState,
  libxcEnd,
  libxcHeaders,
  type SaveFormat,
  streamEpilogue,
  streamPrologue,
} from "./stream_layers.ts";

/** The HVM params Xen 4.17 saves (`write_hvm_params`), in its order; zero values are skipped. */
export const SAVED_HVM_PARAMS: readonly number[] = [
  HVM_PARAM_STORE_PFN,
  HVM_PARAM_IOREQ_PFN,
  HVM_PARAM_BUFIOREQ_PFN,
  HVM_PARAM_PAGING_RING_PFN,
  HVM_PARAM_MONITOR_RING_PFN,
  HVM_PARAM_SHARING_RING_PFN,
  HVM_PARAM_VM86_TSS_SIZED,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_ACPI_IOPORTS_LOCATION,
  HVM_PARAM_VIRIDIAN,
  HVM_PARAM_IDENT_PT,
  HVM_PARAM_VM_GENERATION_ID_ADDR,
  HVM_PARAM_IOREQ_SERVER_PFN,
  HVM_PARAM_NR_IOREQ_SERVER_PAGES,
  HVM_PARAM_X87_FIP_WIDTH,
  HVM_PARAM_MCA_CAP,
];

/** Bytes on the wire per page sent: the page and its pfn entry. */
export const PAGE_WIRE_BYTES = PAGE_SIZE + 8;

/** Where a save is. */
export type SavePhase = "new" | "precopy" | "stopped" | "done" | "aborted";

/**
 * The stop-and-copy phase: from the stop to the stream's end.  A non-live
 * save stops the guest first, so for it this is the whole save.
 */
export interface DowntimeStats {
  /** Pages sent with the guest paused. */
  pages: number;
  /** Bytes written with the guest paused (pages, tail records, END). */
  bytes: number;
  /** From pause to the last byte handed to the transport, ms. */
  ms: number;
  /** Of which: from the suspend request until the guest was stopped, ms (the guest's share). */
  suspendMs: number;
  /** Of which: the pages sent with it stopped (live: the final CLEAN's), ms. */
  pagesMs: number;
  /** Of which: the tail records (TSC, HVM context and params, END, libxl's), ms. */
  tailMs: number;
}

/** What the tail records carry, read once the guest is stopped. */
interface TailState {
  tsc: TscInfo;
  hvmContext: Uint8Array;
  params: HvmParam[];
}

/** Everything a save measured. */
export interface SaveStats {
  /** Domain saved. */
  domid: number;
  /** Live save? */
  live: boolean;
  /** Policy name. */
  policy: string;
  /** Pages in the guest's physmap. */
  p2mSize: number;
  /**
   * Pfns the first pass asked Xen about; the rest of the physmap was
   * known to hold no page (see `P2mWalk`).
   */
  walkedPfns: number;
  /** Live iterations; iteration 0 is the first pass over all memory. */
  iterations: IterationStats[];
  /** The stop-and-copy phase, once done. */
  downtime?: DowntimeStats;
  /** Pages sent, all phases. */
  totalPages: number;
  /** Bytes written, whole stream. */
  totalBytes: number;
  /** Wall time, ms. */
  wallMs: number;
  /** Why precopy ended (the policy's explanation), if live. */
  stopReason?: string;
}

/** Options for a save. */
export interface SaveOptions {
  /** Live (precopy with log-dirty) or not (pause first). */
  live?: boolean;
  /** Precopy policy (default: Xen's). */
  policy?: PrecopyPolicy;
  /** Outer layers to write (default `xl`). */
  format?: SaveFormat;
  /** Domain configuration for the xl header (JSON). */
  config?: string;
  /** Emulator records for the libxl layer. */
  emulator?: EmulatorState;
  /** How the guest is stopped for the final pass (default: asked to suspend if it can be). */
  suspend?: SuspendOptions;
  /** Aborts between batches when signalled. */
  signal?: AbortSignal;
  /** Called after each record of page data and each phase change. */
  onProgress?: (p: SaveProgress) => void;
}

/** A progress report. */
export interface SaveProgress {
  /** Phase. */
  phase: SavePhase;
  /** Current iteration (0 = first pass). */
  iteration: number;
  /** Pages sent in this iteration so far. */
  pagesSent: number;
  /** Pages this iteration has to send. */
  pagesToSend: number;
  /** Bytes sent, whole stream. */
  totalBytes: number;
  /** ms since the iteration began. */
  iterationMs: number;
  /** The last CLEAN's dirty count. */
  dirtyCount: number;
}

/** Thrown when a save is aborted (by policy, signal or caller); names the phase. */
export class SaveAbortedError extends Error {
  /** The phase it was in. */
  readonly phase: SavePhase;
  /** Creates the error. */
  constructor(phase: SavePhase, reason: string) {
    super(`save aborted during ${phase}: ${reason}`);
    this.name = "SaveAbortedError";
    this.phase = phase;
  }
}

/**
 * One save of one domain.
 *
 * @example Save a simulated guest, non-live, into memory
 * ```ts
 * import { openHypervisor } from "../xen/open.ts";
 * import { memorySink } from "../io/byte_sink.ts";
 * import { SaveSession } from "./save_session.ts";
 * using session = await openHypervisor({ sim: "mem=64M" });
 * const out = memorySink();
 * const save = new SaveSession(session.hv, session.domid!, out, { live: false, format: "libxc" });
 * const stats = await save.run();
 * console.assert(stats.totalBytes === out.bytes().length && stats.downtime !== undefined);
 * ```
 */
export class SaveSession {
  #hv: Hypervisor;
  #domain: Domain;
  #out: BufferedWriter;
  #options: SaveOptions;
  #policy: PrecopyPolicy;
  #phase: SavePhase = "new";
  #p2mSize = 0;
  #walkedPfns = 0;
  #bitmap = new Uint8Array(0);
  #dirty = 0;
  #iterations: IterationStats[] = [];
  #downtime?: DowntimeStats;
  #started = 0;
  #suspender: GuestSuspender;
  #pausedAt?: number;
  /** When the guest was stopped, and what had been written by its stop. */
  #stopped?: { at: number; bytes: number; pages: number };
  #abortedIn?: SavePhase;
  #abortReason?: string;
  #stopReason?: string;
  #sender: PageSender;
  #records: { type: string; bytes: number; offset: number }[] = [];

  /** Prepares to save domain `domid` into `sink`. */
  constructor(hv: Hypervisor, domid: number, sink: ByteSink, options: SaveOptions = {}) {
    this.#hv = hv;
    this.#domain = hv.domain(domid);
    this.#out = new BufferedWriter(sink);
    this.#options = options;
    this.#policy = options.policy ?? xenPolicy;
    this.#sender = new PageSender(this.#domain, hv.foreignMemory, this.#out);
    this.#suspender = new GuestSuspender(hv, this.#domain, options.suspend);
    // The signal restores the guest at once (log-dirty off, unpaused), even
    // while a write is blocked on a stalled peer; run() unwinds at its next
    // check.  A finished session is not touched.
    options.signal?.addEventListener("abort", () => {
      if (this.#phase === "done" || this.#phase === "aborted") return;
      this.abort(String(options.signal?.reason ?? "interrupted"));
    }, { once: true });
  }

  /** Current phase. */
  get phase(): SavePhase {
    return this.#phase;
  }

  /** The phase the session was in when it was aborted. */
  get abortedIn(): SavePhase | undefined {
    return this.#abortedIn;
  }

  /** The domain being saved. */
  get domain(): Domain {
    return this.#domain;
  }

  /** The policy in force. */
  get policy(): PrecopyPolicy {
    return this.#policy;
  }

  /** Switches the policy (the REPL's `policy` command). */
  set policy(p: PrecopyPolicy) {
    this.#policy = p;
  }

  /** The dirty bitmap of the last CLEAN: the pages the next step sends (bit i = pfn i). */
  get dirtyBitmap(): Uint8Array {
    return this.#bitmap;
  }

  /** Pages in the physmap. */
  get p2mSize(): number {
    return this.#p2mSize;
  }

  /** The last records written (type and size), newest last, at most 64. */
  get recentRecords(): readonly { type: string; bytes: number; offset: number }[] {
    return this.#records;
  }

  /** What the policy sees now. */
  precopyStats(): PrecopyStats {
    return {
      iteration: this.#iterations.length,
      dirtyCount: this.#dirty,
      p2mSize: this.#p2mSize,
      totalPagesSent: this.#iterations.reduce((n, i) => n + i.pagesSent, 0),
      history: this.#iterations,
      pageWireBytes: PAGE_WIRE_BYTES,
    };
  }

  /** What `policy` (default: the session's) would decide now, and why. */
  decide(policy: PrecopyPolicy = this.#policy): { decision: PolicyDecision; why: string } {
    const s = this.precopyStats();
    const decision = policy.decide(s);
    return { decision, why: policy.explain?.(s) ?? `${policy.name}: ${decision}` };
  }

  /** Statistics so far. */
  get stats(): SaveStats {
    return {
      domid: this.#domain.domid,
      live: this.#options.live ?? true,
      policy: this.#policy.name,
      p2mSize: this.#p2mSize,
      walkedPfns: this.#walkedPfns,
      iterations: [...this.#iterations],
      downtime: this.#downtime,
      totalPages: this.#sender.counts.pages,
      totalBytes: this.#out.bytesWritten,
      wallMs: this.#started ? performance.now() - this.#started : 0,
      stopReason: this.#stopReason,
    };
  }

  #expect(...phases: SavePhase[]): void {
    if (!phases.includes(this.#phase)) {
      throw new Error(`cannot do that in phase '${this.#phase}' (needs ${phases.join(" or ")})`);
    }
  }

  #checkSignal(): void {
    // Aborted from outside (signal, CLI cleanup, REPL) while a step was in
    // flight: stop here rather than carry on (e.g. re-enable log-dirty).
    if (this.#phase === "aborted") {
      throw new SaveAbortedError(this.#abortedIn ?? "aborted", this.#abortReason ?? "aborted");
    }
    if (this.#options.signal?.aborted) {
      throw new SaveAbortedError(this.#phase, String(this.#options.signal.reason ?? "interrupted"));
    }
  }

  async #record(type: string, bytes: Uint8Array): Promise<void> {
    this.#records.push({ type, bytes: bytes.length, offset: this.#out.bytesWritten });
    if (this.#records.length > 64) this.#records.shift();
    await this.#out.write(bytes);
  }

  /** Sends a set of pages as one iteration and records its statistics. */
  async #pass(send: () => Promise<unknown>, toSend: number): Promise<IterationStats> {
    const t0 = performance.now();
    const before = { ...this.#sender.counts };
    const iteration = this.#iterations.length;
    // Where the pass starts in the stream: the sender writes a record
    // behind, so the writer's count lags the records it has reported.
    const start = this.#out.bytesWritten - before.bytes;
    let recordStart = before.bytes;
    this.#sender.onRecord = (c) => {
      this.#checkSignal();
      this.#options.onProgress?.({
        phase: this.#phase,
        iteration,
        pagesSent: c.pages - before.pages,
        pagesToSend: toSend,
        totalBytes: start + c.bytes,
        iterationMs: performance.now() - t0,
        dirtyCount: this.#dirty,
      });
      // The record just sent: its own size, and where it starts.
      const size = c.bytes - recordStart;
      this.#records.push({ type: "PAGE_DATA", bytes: size, offset: start + recordStart });
      recordStart = c.bytes;
      if (this.#records.length > 64) this.#records.shift();
    };
    await send();
    await this.#out.flush();
    const c = this.#sender.counts;
    return {
      iteration,
      pagesSent: c.pages - before.pages,
      bytesSent: c.bytes - before.bytes,
      durationMs: performance.now() - t0,
      dirtyCount: 0,
    };
  }

  /** Headers, static data, log-dirty on (live) or pause (non-live), and the first pass. */
  async start(): Promise<IterationStats> {
    this.#expect("new");
    this.#started = performance.now();
    const info = this.#domain.info();
    if (!info.hvm) {
      throw new Error(`domain ${info.domid} is PV: xenmig saves HVM and PVH guests only`);
    }
    this.#p2mSize = this.#domain.maxGpfn() + 1;
    this.#bitmap = new Uint8Array(Math.ceil(bitmapBytes(this.#p2mSize) / 8) * 8);
    const live = this.#options.live ?? true;
    const format = this.#options.format ?? "xl";
    await this.#record(
      "prologue",
      streamPrologue(
        format,
        this.#options.config ?? domainConfig(info, undefined, this.#knownGuest(info.domid)),
      ),
    );
    await this.#record("image+domain headers", libxcHeaders());
    const policy = this.#domain.cpuPolicy();
    await this.#record(
      "X86_CPUID_POLICY",
      encodeLibxcRecord({ type: REC_TYPE.X86_CPUID_POLICY, leaves: policy.leaves }),
    );
    await this.#record(
      "X86_MSR_POLICY",
      encodeLibxcRecord({ type: REC_TYPE.X86_MSR_POLICY, msrs: policy.msrs }),
    );
    await this.#record("STATIC_DATA_END", encodeLibxcRecord({ type: REC_TYPE.STATIC_DATA_END }));
    this.#checkSignal(); // aborted while the headers were written: touch nothing
    // How the guest will be stopped is decided now, outside the downtime.
    this.#suspender.prepare();
    this.#phase = "precopy";
    if (live) {
      this.#domain.logDirty.enable();
    } else {
      await this.#stop();
      // Non-live, the one pass runs with the guest paused: that is the
      // stop-and-copy phase (progress and interrupt reports say so).
      this.#phase = "stopped";
    }
    const owned = ownedPageCount(this.#domain);
    const walk = new P2mWalk(this.#p2mSize, owned);
    const first = await this.#pass(async () => {
      await this.#sender.addWalk(walk);
      // A running guest may balloon while the walk runs: a count that moved
      // no longer proves the skipped middle empty.
      if (walk.skipped > 0 && ownedPageCount(this.#domain) !== owned) {
        walk.walkAll();
        await this.#sender.addWalk(walk);
      }
    }, info.totPages);
    this.#walkedPfns = this.#p2mSize - walk.skipped;
    if (live) {
      first.dirtyCount = this.#clean(false);
      // What the downtime runs is bound and compiled now, outside it.
      this.#hv.bindAll();
      this.#warmTail();
    }
    this.#iterations.push(first);
    return first;
  }

  /** One precopy iteration: send what the last CLEAN reported, then CLEAN. */
  async step(): Promise<IterationStats> {
    this.#expect("precopy");
    if (!(this.#options.live ?? true)) throw new Error("a non-live save has no precopy iterations");
    const it = await this.#passDirty();
    it.dirtyCount = this.#clean(false);
    this.#iterations.push(it);
    return it;
  }

  /**
   * Sends what the last CLEAN found, as one pass, from a copy of the held
   * bitmap (which callers see as {@linkcode dirtyBitmap}).
   */
  #passDirty(): Promise<IterationStats> {
    const bitmap = this.#bitmap.slice();
    return this.#pass(() => this.#sender.addBitmap(bitmap, this.#p2mSize), this.#dirty);
  }

  /** CLEAN into the held bitmap (`final`: the guest is stopped); returns the dirty count. */
  #clean(final: boolean): number {
    const s = this.#domain.logDirty.clean(this.#bitmap, this.#p2mSize, { final });
    this.#dirty = s.dirtyCount;
    return s.dirtyCount;
  }

  /** The guest's name and type from xenstore, when it has entries there. */
  #knownGuest(domid: number): KnownGuest {
    try {
      const xs = this.#hv.xenstore;
      return { name: guestName(xs, domid), type: xs.read(`/libxl/${domid}/type`) };
    } catch {
      return {};
    }
  }

  /** Stops the guest (suspend or pause); the downtime counts from the request. */
  async #stop(): Promise<void> {
    const t0 = performance.now();
    this.#pausedAt ??= t0;
    const bytes = this.#out.bytesWritten;
    const pages = this.#sender.counts.pages;
    await this.#suspender.suspend();
    const at = performance.now();
    this.#checkSignal(); // interrupted while the guest was suspending: it is resumed
    this.#stopped = { at, bytes, pages };
  }

  /** The stopped guest's state that the tail records carry. */
  #readTail(): TailState {
    const params = this.#readParams();
    return { tsc: this.#domain.tscInfo(), hvmContext: this.#domain.hvmContext(), params };
  }

  /** The non-zero {@linkcode SAVED_HVM_PARAMS}. */
  #readParams(): HvmParam[] {
    const params: HvmParam[] = [];
    for (const index of SAVED_HVM_PARAMS) {
      const value = this.#domain.hvmParam(index);
      if (value !== 0n) params.push({ index: BigInt(index), value });
    }
    return params;
  }

  /** The records after the last page, in libxc's order, then libxl's epilogue. */
  #tail(state: TailState): [type: string, bytes: Uint8Array][] {
    const { tsc, hvmContext, params } = state;
    const records: [string, Uint8Array][] = [
      [
        "X86_TSC_INFO",
        encodeLibxcRecord({
          type: REC_TYPE.X86_TSC_INFO,
          mode: tsc.mode,
          khz: tsc.gtscKhz,
          nsec: tsc.elapsedNsec,
          incarnation: tsc.incarnation,
          reserved: 0,
        }),
      ],
      ["HVM_CONTEXT", encodeLibxcRecord({ type: REC_TYPE.HVM_CONTEXT, data: hvmContext })],
    ];
    if (params.length) {
      records.push([
        "HVM_PARAMS",
        encodeLibxcRecord({ type: REC_TYPE.HVM_PARAMS, reserved: 0, params }),
      ]);
    }
    records.push(
      ["END", libxcEnd()],
      ["libxl epilogue", streamEpilogue(this.#options.format ?? "xl", this.#options.emulator)],
    );
    return records;
  }

  /**
   * Runs the tail's code once on stand-in state, outside the downtime, so
   * that it is not compiled in it: the tail then takes half the time (median
   * 0.34 against 0.68 ms on the simulator; under emulation the hypercalls
   * dominate).  The params are read for real: unlike the TSC and HVM context
   * reads, reading them does not pause the guest.
   */
  #warmTail(): void {
    const tsc: TscInfo = { mode: 0, elapsedNsec: 0n, gtscKhz: 0, incarnation: 0 };
    this.#tail({ tsc, hvmContext: new Uint8Array(8), params: this.#readParams() });
  }

  /** When this session began stopping the guest (`performance.now()`), if it has. */
  get pausedAt(): number | undefined {
    return this.#pausedAt;
  }

  /** How the guest was stopped, once it has been. */
  get suspendMethod(): SuspendMethod | undefined {
    return this.#suspender.method;
  }

  /**
   * Stop-and-copy, in libxc's order: the pages the last CLEAN found are
   * sent while the guest still runs (a last precopy pass, no CLEAN after
   * it); then the guest is stopped and only what that pass let through —
   * pages written since the CLEAN — is sent with it stopped, followed by
   * the tail records and END.
   */
  async finish(): Promise<SaveStats> {
    this.#expect("precopy", "stopped");
    if (this.#phase === "precopy") {
      let last: IterationStats | undefined;
      // The bitmap decides, not Xen's count: a preempted CLEAN zeroes the
      // count at its end, after backends may have marked pages whose bits
      // it had already copied out, so a later round can report 0 with bits
      // set.  Skipped, those pages would be replaced by the final CLEAN's.
      if (this.#dirty > 0 || anyBitSet(this.#bitmap)) {
        last = await this.#passDirty();
        this.#iterations.push(last);
      }
      await this.#stop();
      this.#phase = "stopped";
      const dirtied = this.#clean(true);
      if (last) last.dirtyCount = dirtied;
      await this.#passDirty();
    }
    const tailAt = performance.now();
    for (const [type, bytes] of this.#tail(this.#readTail())) await this.#record(type, bytes);
    await this.#out.flush();
    const end = performance.now();
    this.#checkSignal(); // aborted during the tail records: not a finished save
    // The stream is out: what is left is cleanup, off the receiver's path.
    this.#suspender.release();
    if (this.#domain.logDirty.enabled) this.#domain.logDirty.off();
    const stopped = this.#stopped!;
    this.#downtime = {
      pages: this.#sender.counts.pages - stopped.pages,
      bytes: this.#out.bytesWritten - stopped.bytes,
      ms: end - this.#pausedAt!,
      suspendMs: stopped.at - this.#pausedAt!,
      pagesMs: tailAt - stopped.at,
      tailMs: end - tailAt,
    };
    this.#phase = "done";
    this.#options.onProgress?.({
      phase: "done",
      iteration: this.#iterations.length,
      pagesSent: this.#downtime.pages,
      pagesToSend: this.#downtime.pages,
      totalBytes: this.#out.bytesWritten,
      iterationMs: this.#downtime.ms,
      dirtyCount: 0,
    });
    return this.stats;
  }

  /**
   * Gives up: log-dirty off and the guest unpaused if this session paused it.
   * Safe to call in any phase and more than once.
   */
  abort(reason = "aborted"): void {
    if (this.#phase === "aborted") return;
    this.#stopReason ??= reason;
    this.#abortReason = reason;
    this.#abortedIn = this.#phase;
    this.#phase = "aborted";
    try {
      if (this.#domain.logDirty.enabled) this.#domain.logDirty.off();
    } finally {
      // Undoes only our own stop: Xen counts controller pauses, so a guest
      // that was paused before stays paused, and one that ran runs.
      this.#suspender.resume();
    }
  }

  /**
   * Releases the guest after a completed save that should keep running
   * (`xl save -c` style): resumes or unpauses it if this session stopped it.
   */
  resumeSource(): void {
    this.#suspender.resume();
  }

  /** Runs the whole save under the policy; aborts (and rethrows) on any error. */
  async run(): Promise<SaveStats> {
    try {
      await this.start();
      while (this.#phase === "precopy") {
        this.#checkSignal();
        const { decision, why } = this.decide();
        if (decision === "continue") {
          await this.step();
          continue;
        }
        this.#stopReason = why;
        if (decision === "abort") {
          throw new SaveAbortedError("precopy", `policy ${this.#policy.name}: ${why}`);
        }
        break;
      }
      return await this.finish();
    } catch (e) {
      this.abort(e instanceof Error ? e.message : String(e));
      throw e;
    }
  }
}

/** Whether any bit of `bitmap` is set (a word at a time: its length is a multiple of 8). */
function anyBitSet(bitmap: Uint8Array): boolean {
  const words = new Uint32Array(bitmap.buffer, bitmap.byteOffset, bitmap.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return true;
  return false;
}
