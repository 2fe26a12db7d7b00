/**
 * Restoring a libxc v2/v3 stream — bare, inside a libxl stream, or behind an
 * xl header — into a new HVM/PVH domain, as Xen 4.17's restore does:
 * create the domain, apply the CPU policy at STATIC_DATA_END (inferred in v2
 * streams, as the spec says), populate and fill memory from PAGE_DATA, set
 * TSC info and HVM params as they come, and the HVM context at the end.
 *
 * The stream is untrusted.  Every header and record passes Xen's checks
 * (the verifier's tables) and the strict order rules before it is acted
 * upon; a pfn at or beyond the domain's limit is refused before anything is
 * mapped; unknown mandatory records are refused and optional ones ignored;
 * zero-content records (errata) are tolerated.  Any failure destroys the
 * half-built domain and reports the offset of the offending record.
 *
 * @module
 */

import { RecordError, StreamError } from "../errors.ts";
import type { ByteSource } from "../io/byte_source.ts";
import { StreamReader } from "../io/stream_reader.ts";
import { detectFormat } from "../detect_format.ts";
import {
  DHDR_TYPE,
  PAGE_TYPE,
  pageTypeHasData,
  REC_TYPE,
  recTypeName,
} from "../libxc/constants.ts";
import { decodeHvmContext, HVM_SAVE_TYPE } from "../libxc/hvm_context.ts";
import { decodeLibxcRecord, type LibxcRecord } from "../libxc/records.ts";
import { LIBXL_REC_TYPE } from "../libxl/constants.ts";
import { REC_TYPE_OPTIONAL } from "../record_header.ts";
import { describeRecord, type StreamFormat, StreamParser } from "../stream_parser.ts";
import {
  LIBXC_RECORD_VERIFIERS,
  verifyDomainHeader,
  verifyImageHeader,
} from "../verify/libxc_verifier.ts";
import { LIBXL_RECORD_VERIFIERS, verifyLibxlHeader } from "../verify/libxl_verifier.ts";
import { PfnTracker } from "../verify/pfn_tracker.ts";
import { StrictLibxcChecker, type StrictWarning } from "../verify/strict.ts";
import { decodeXlConfigData } from "../xl/header.ts";
import {
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
  PROT_READ,
  PROT_WRITE,
  XEN_DOMCTL_CDF_hap,
  XEN_DOMCTL_CDF_hvm,
  XEN_X86_EMU_ALL,
  XEN_X86_EMU_LAPIC,
  XEN_X86_EMU_VPCI,
} from "../xen/constants.ts";
import type { Domain } from "../xen/domain.ts";
import {
  connectGuestRings,
  domainCalled,
  type GuestRings,
  type GuestType,
  isGuestName,
  writeGuestEntries,
} from "../xen/guest_xenstore.ts";
import { storeDomainConfig } from "../xen/libxl_userdata.ts";
import { domainConfig } from "./domain_config.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";
import type { CpuidLeaf, MsrEntry } from "../xen/types.ts";

/** Guest-physical space below 4 GiB that is not RAM on HVM (MMIO hole), in pages. */
const MMIO_HOLE_PAGES = 0x40000;
/** pfns always allowed: the first 4 GiB (special pages sit just below it). */
const LOW_PFN_SPACE = 0x100000;
/** Slack libxl adds to a domain's maximum memory (`LIBXL_MAXMEM_CONSTANT`, KiB). */
export const LIBXL_MAXMEM_CONSTANT = 1024;

/** A hypervisor call failed while a record was being applied: says which record. */
export class RestoreError extends Error {
  /** Offset of the record being applied. */
  readonly offset: number;
  /** The record, e.g. "libxc record 12 (PAGE_DATA)". */
  readonly where: string;
  /** Wraps `cause`. */
  constructor(cause: Error, offset: number, where: string) {
    super(`${cause.message} (while restoring ${where}, offset ${offset})`, { cause });
    this.name = "RestoreError";
    this.offset = offset;
    this.where = where;
  }
}

/** Options for {@linkcode restoreStream}. */
export interface RestoreOptions {
  /** Outermost layer; detected from the first bytes when omitted. */
  format?: StreamFormat;
  /** Maximum memory, KiB (default: the xl config's `max_memkb`, else 1 GiB). */
  maxMemKib?: number;
  /** vcpus (default: the xl config's `max_vcpus`, else 1). */
  vcpus?: number;
  /**
   * First pfn the stream may not touch (default: 4 GiB of pfn space, or the
   * memory size plus the MMIO hole when larger).
   */
  pfnLimit?: number;
  /** Unpause the domain once restored (default false: left paused). */
  unpause?: boolean;
  /** Domain name (default: the xl config's, else `restored-<domid>`). */
  name?: string;
  /** Appended to the name while a migration is undecided (`--incoming`, as xl does). */
  nameSuffix?: string;
  /** Guest type when the stream carries no xl config (default `pvh`). */
  guestType?: GuestType;
  /**
   * Write the guest's xenstore entries (name, console, ...) and introduce
   * it to xenstored, as libxl does (default true).  Without, the guest's
   * PV drivers find no xenstore and no console when it resumes.
   */
  introduce?: boolean;
  /**
   * Told the new domain's id as soon as it exists, so a caller can destroy
   * it if the process is interrupted mid-restore.
   */
  onDomain?: (domid: number) => void;
  /** Receives one line per notable event (warnings, ignored records). */
  log?: (line: string) => void;
}

/** What a restore did. */
export interface RestoreResult {
  /** The new domain. */
  domid: number;
  /** Pages written. */
  pages: number;
  /** PAGE_DATA records. */
  pageRecords: number;
  /** Distinct pfns populated. */
  populated: number;
  /** Bytes of stream consumed. */
  bytes: number;
  /** Wall time, ms. */
  ms: number;
  /**
   * From the libxc END record to the domain being ready (event channels,
   * grant entries, vcpu state, xenstore), ms: the restore's share of a
   * migration's downtime.
   */
  finishMs: number;
  /** Domain config from the xl header, if any. */
  config?: string;
  /** The name without {@linkcode RestoreOptions.nameSuffix} (what a migration renames it to). */
  name: string;
  /** Whether the domain was introduced to xenstore (named, console attached). */
  introduced: boolean;
  /** Spec deviations seen (warnings). */
  warnings: StrictWarning[];
  /** The reader, positioned just after the stream (protocol messages may follow). */
  reader: StreamReader;
}

interface DomainShape {
  maxMemKib: number;
  vcpus: number;
  name: string;
  guestType: GuestType;
  uuid: Uint8Array;
  shadowKib: number;
}

/** What the (untrusted) xl config says about the domain to create; anything odd is dropped. */
function shapeFromConfig(config: string | undefined): Partial<DomainShape> {
  if (!config) return {};
  try {
    const c = JSON.parse(config);
    const memkb = Number(c?.b_info?.max_memkb);
    const vcpus = Number(c?.b_info?.max_vcpus);
    const name = c?.c_info?.name;
    const type = c?.c_info?.type;
    const shadow = Number(c?.b_info?.shadow_memkb);
    const uuid = typeof c?.c_info?.uuid === "string" ? parseUuid(c.c_info.uuid) : undefined;
    return {
      maxMemKib: Number.isSafeInteger(memkb) && memkb > 0 ? memkb : undefined,
      // vcpu counts are 32-bit in the hypercalls; a larger one (the config
      // is part of the untrusted stream) is no count (found by fuzzing).
      vcpus: Number.isSafeInteger(vcpus) && vcpus > 0 && vcpus <= 0xffffffff ? vcpus : undefined,
      name: typeof name === "string" && isGuestName(name) ? name : undefined,
      guestType: type === "pvh" || type === "hvm" ? type : undefined,
      // Bounded like the memory size (the config is untrusted): at most 1 GiB of pool.
      shadowKib: Number.isSafeInteger(shadow) && shadow > 0 && shadow <= 2 ** 20
        ? shadow
        : undefined,
      uuid,
    };
  } catch {
    return {};
  }
}

function parseUuid(text: string): Uint8Array | undefined {
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** Record types that may legitimately arrive with no content (errata). */
const ERRATA_EMPTY: ReadonlySet<number> = new Set([
  REC_TYPE.HVM_PARAMS,
  REC_TYPE.X86_PV_VCPU_EXTENDED,
  REC_TYPE.X86_PV_VCPU_XSAVE,
  REC_TYPE.X86_PV_VCPU_MSRS,
]);

/**
 * Restores the stream from `source` into a new domain of `hv`.  On success
 * the domain is left paused unless `unpause` is set; on failure it is
 * destroyed and the error (a {@linkcode StreamError} for bad input, with its
 * offset) is rethrown.
 *
 * @example Round trip through the simulator
 * ```ts
 * import { openHypervisor } from "../xen/open.ts";
 * import { bytesSource, memorySink } from "../../mod.ts";
 * import { SaveSession } from "./save_session.ts";
 * import { restoreStream } from "./restore.ts";
 * using session = await openHypervisor({ sim: "mem=64M" });
 * const out = memorySink();
 * await new SaveSession(session.hv, session.domid!, out, { live: false }).run();
 * // The source (suspended, not destroyed) still holds its name.
 * const r = await restoreStream(session.hv, bytesSource(out.bytes()), { name: "copy" });
 * console.assert(r.domid !== session.domid && r.pages > 0 && r.name === "copy");
 * ```
 */
export async function restoreStream(
  hv: Hypervisor,
  source: ByteSource | StreamReader,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const t0 = performance.now();
  const reader = source instanceof StreamReader ? source : new StreamReader(source);
  const format = options.format ?? detectFormat(await reader.peek(8));
  if (!format) {
    throw new StreamError(
      "not a migration stream (no xl, libxl or libxc header)",
      reader.offset,
      "start",
    );
  }
  const log = options.log ?? (() => {});
  const parser = new StreamParser(reader, { format });
  const warnings: StrictWarning[] = [];
  const noInfo = () => {};
  let domain: Domain | undefined;
  let config: string | undefined;
  let strict: StrictLibxcChecker | undefined;
  let version = 0;
  let staticDone = false;
  let pfnLimit = 0;
  const policy: { leaves: CpuidLeaf[]; msrs: MsrEntry[] } = { leaves: [], msrs: [] };
  let hvmContext: Uint8Array | undefined;
  const populated = new PfnTracker(1 << 24);
  let pages = 0, pageRecords = 0;
  let rings: GuestRings | undefined;
  // The rings' event channels, allocated with the domain as libxl does.
  let ports: { store: number; console: number } | undefined;
  let endAt: number | undefined;
  let skipLibxcBody = false;
  let vcpus = 1;
  let maxMemKib = 0;
  let guestType: GuestType = "pvh";
  let name = "";
  let current: { offset: number; where: string } | undefined;
  // The rings the guest's PV drivers reconnect to on resume (HVM_PARAMS).
  let storeGfn = 0, consoleGfn = 0;
  const introduce = options.introduce ?? true;

  const create = (): Domain => {
    const shape = { ...shapeFromConfig(config), ...definedOnly(options) };
    maxMemKib = shape.maxMemKib ?? 1024 * 1024;
    vcpus = shape.vcpus ?? 1;
    guestType = shape.guestType ?? "pvh";
    name = shape.name ?? "";
    if (introduce && name) refuseTakenName(hv, name + (options.nameSuffix ?? ""));
    const memPages = Math.ceil(maxMemKib / 4);
    pfnLimit = options.pfnLimit ?? Math.max(LOW_PFN_SPACE, memPages + MMIO_HOLE_PAGES);
    const d = hv.createDomain({
      maxVcpus: vcpus,
      flags: XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap,
      // PVH: only the local APIC is emulated (libxl's choice); without it
      // the domain would be a full HVM guest waiting for a device model.
      emulationFlags: guestType === "pvh" ? XEN_X86_EMU_LAPIC : XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI,
      handle: shape.uuid,
    });
    try {
      // Never beyond the guest's physical address width: a memory size
      // taken from the stream's config must not let its pfns outside the
      // domain's range (found by fuzzing: the simulator counted the access).
      const info = d.info();
      const bits = info.gpaddrBits;
      if (bits > 12 && bits < 64) pfnLimit = Math.min(pfnLimit, 2 ** (bits - 12));
      d.setMaxVcpus(vcpus);
      d.setMaxMem(maxMemKib + LIBXL_MAXMEM_CONSTANT);
      // At most 1 GiB of pool: the sizes come from the (untrusted) stream.
      d.setPagingMempool(
        Math.min(shape.shadowKib ?? requiredShadowKib(maxMemKib, vcpus), 2 ** 20) * 1024,
      );
      if (introduce) {
        ports = { store: d.allocUnboundEvtchn(0), console: d.allocUnboundEvtchn(0) };
        // What libxl writes when it creates the domain: before the pages,
        // so that only the rings are left for after END (the downtime).
        name ||= `restored-${d.domid}`;
        writeGuestEntries(hv.xenstore, d.domid, {
          name: name + (options.nameSuffix ?? ""),
          uuid: info.handle,
          type: guestType,
          memKib: maxMemKib,
          vcpus,
        });
        // xl can then save, migrate and list it (its configuration).
        if (hv.backend === "xen") {
          storeDomainConfig(
            d.domid,
            info.handle,
            config ?? domainConfig(info, undefined, { name, type: guestType }),
          );
        }
      }
    } catch (e) {
      d.destroy();
      throw e;
    }
    return d;
  };

  const applyStatic = (d: Domain) => {
    staticDone = true;
    if (policy.leaves.length || policy.msrs.length) d.setCpuPolicy(policy);
  };

  const pageData = (
    d: Domain,
    rec: LibxcRecord & { type: typeof REC_TYPE.PAGE_DATA },
    offset: number,
    where: string,
  ) => {
    const toPopulate: number[] = [];
    const withData: number[] = [];
    for (let i = 0; i < rec.count; i++) {
      const pfn = rec.pfns[i];
      if (pfn >= pfnLimit) {
        throw new RecordError(
          `pfn[${i}] 0x${pfn.toString(16)} is beyond the domain's limit 0x${pfnLimit.toString(16)}`,
          offset,
          where,
        );
      }
      const type = rec.types[i];
      const data = pageTypeHasData(type);
      if ((data || type === PAGE_TYPE.XALLOC) && populated.add(pfn)) toPopulate.push(pfn);
      if (data) withData.push(pfn);
    }
    if (toPopulate.length) d.populatePhysmap(toPopulate);
    if (withData.length) {
      const m = hv.foreignMemory.map(d.domid, withData, PROT_READ | PROT_WRITE);
      try {
        m.all().set(rec.pages);
      } finally {
        m.release();
      }
    }
    pages += withData.length;
    pageRecords++;
  };

  // Reads from a file never wait, so without a pause the loop would never
  // let a signal's cleanup run; yield to the event loop now and then.
  let yieldedAt = performance.now();
  try {
    for await (const ev of parser.events()) {
      if (performance.now() - yieldedAt > 50) {
        await new Promise((r) => setTimeout(r, 0));
        yieldedAt = performance.now();
      }
      switch (ev.kind) {
        case "xl-header":
          config = decodeXlConfigData(ev.optionalData);
          break;
        case "libxl-header":
          verifyLibxlHeader(ev.header, noInfo, ev.offset);
          break;
        case "image-header":
          verifyImageHeader(ev.header, noInfo, ev.offset);
          // A second libxc image (a libxl stream with another LIBXC_CONTEXT)
          // would create a second domain and leak the first, with state
          // (populated pfns) that belongs to the first (found by fuzzing).
          if (domain) {
            throw new StreamError(
              "second libxc image: checkpointed (Remus/COLO) streams are not supported",
              ev.offset,
              "libxc image header",
            );
          }
          version = ev.header.version;
          break;
        case "domain-header":
          verifyDomainHeader(ev.header, noInfo, ev.offset);
          if (ev.header.type !== DHDR_TYPE.X86_HVM) {
            throw new StreamError(
              "PV streams cannot be restored by xenmig (HVM and PVH only)",
              ev.offset,
              "libxc domain header",
            );
          }
          strict = new StrictLibxcChecker(version, ev.header.type, warnings);
          // A hypervisor failure creating the domain is reported at the
          // domain header (a RestoreError with offset), not as a bare XenError.
          current = { offset: ev.offset, where: "libxc domain header" };
          domain = create();
          options.onDomain?.(domain.domid);
          break;
        case "record-header": {
          const where = describeRecord(ev.layer, ev.index, ev.type);
          const known = ev.layer === "libxc"
            ? LIBXC_RECORD_VERIFIERS[ev.type]
            : LIBXL_RECORD_VERIFIERS[ev.type];
          skipLibxcBody = false;
          if (!known) {
            if (!(ev.type & REC_TYPE_OPTIONAL)) {
              throw new StreamError(
                `unknown mandatory record type 0x${ev.type.toString(16)}`,
                ev.offset,
                where,
              );
            }
            log(`ignoring optional record type 0x${ev.type.toString(16)} at offset ${ev.offset}`);
            skipLibxcBody = true;
          }
          if (ev.layer === "libxc" && ERRATA_EMPTY.has(ev.type) && ev.length === 0) {
            log(
              `ignoring zero-length ${recTypeName(ev.type)} record at offset ${ev.offset} (errata)`,
            );
            skipLibxcBody = true;
          }
          break;
        }
        case "record": {
          if (skipLibxcBody) break;
          const where = describeRecord(ev.layer, ev.index, ev.type);
          current = { offset: ev.offset, where };
          const at = { info: noInfo, offset: ev.offset, where, version };
          if (ev.padding.some((b) => b !== 0)) {
            throw new StreamError("Padding containing non0 bytes found", ev.offset, where);
          }
          if (ev.layer === "libxl") {
            LIBXL_RECORD_VERIFIERS[ev.type](at, ev.body);
            if (
              ev.type === LIBXL_REC_TYPE.EMULATOR_CONTEXT ||
              ev.type === LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA
            ) {
              log(`ignoring ${where}: xenmig restores guests without a device model`);
            } else if (
              ev.type === LIBXL_REC_TYPE.CHECKPOINT_END ||
              ev.type === LIBXL_REC_TYPE.CHECKPOINT_STATE
            ) {
              throw new StreamError(
                "checkpointed (Remus/COLO) streams are not supported",
                ev.offset,
                where,
              );
            }
            break;
          }
          const d = domain!;
          LIBXC_RECORD_VERIFIERS[ev.type](at, ev.body);
          const rec = decodeLibxcRecord(ev.type, ev.body, ev.offset);
          strict!.record(rec, at);
          if ("unknown" in rec) break;
          if (
            !staticDone &&
            (rec.type === REC_TYPE.STATIC_DATA_END ||
              (version < 3 && rec.type === REC_TYPE.PAGE_DATA))
          ) {
            applyStatic(d);
          }
          switch (rec.type) {
            case REC_TYPE.X86_CPUID_POLICY:
              policy.leaves = rec.leaves;
              break;
            case REC_TYPE.X86_MSR_POLICY:
              policy.msrs = rec.msrs;
              break;
            case REC_TYPE.PAGE_DATA:
              pageData(d, rec, ev.offset, where);
              break;
            case REC_TYPE.X86_TSC_INFO:
              d.setTscInfo({
                mode: rec.mode,
                gtscKhz: rec.khz,
                elapsedNsec: rec.nsec,
                incarnation: rec.incarnation,
              });
              break;
            case REC_TYPE.HVM_PARAMS:
              // Parameter numbers are 32-bit in the hypercall; a wider index
              // is the stream's fault, not an FFI TypeError (found by fuzzing).
              rec.params.forEach((p, i) => {
                if (p.index > 0xffffffffn) {
                  const index = p.index.toString(16);
                  throw new RecordError(
                    `HVM_PARAMS entry ${i}: index 0x${index} is not a parameter number`,
                    ev.offset,
                    where,
                  );
                }
              });
              for (const [i, p] of rec.params.entries()) {
                // The ring pages' gfns are handed to the grant table and
                // xenstored: only frames of this domain.
                const ring = p.index === BigInt(HVM_PARAM_STORE_PFN) ||
                  p.index === BigInt(HVM_PARAM_CONSOLE_PFN);
                if (ring && p.value >= BigInt(pfnLimit)) {
                  throw new RecordError(
                    `HVM_PARAMS entry ${i}: ring gfn 0x${p.value.toString(16)} is beyond the ` +
                      `domain's limit 0x${pfnLimit.toString(16)}`,
                    ev.offset,
                    where,
                  );
                }
                d.setHvmParam(Number(p.index), p.value);
                if (p.index === BigInt(HVM_PARAM_STORE_PFN)) storeGfn = Number(p.value);
                if (p.index === BigInt(HVM_PARAM_CONSOLE_PFN)) consoleGfn = Number(p.value);
              }
              break;
            case REC_TYPE.HVM_CONTEXT:
              hvmContext = rec.data.slice();
              break;
            case REC_TYPE.CHECKPOINT:
              throw new StreamError(
                "checkpointed (Remus/COLO) streams are not supported",
                ev.offset,
                where,
              );
            case REC_TYPE.END:
              endAt = performance.now();
              // As libxc's stream completion: fresh event channels for the
              // rings (the old ports died with the old domain), grant
              // entries for the backends, then the vcpus' state.
              if (ports) rings = connectRings(d, storeGfn, consoleGfn, ports);
              if (hvmContext) applyHvmContext(d, hvmContext, vcpus);
              if (rings) connectGuestRings(hv.xenstore, d.domid, rings);
              break;
          }
          break;
        }
      }
    }
    if (!domain) throw new StreamError("stream has no libxc image", reader.offset, "end of stream");
    name ||= `restored-${domain.domid}`;
    if (options.unpause) domain.unpause();
    return {
      domid: domain.domid,
      pages,
      pageRecords,
      populated: populated.unique,
      bytes: reader.offset,
      ms: performance.now() - t0,
      finishMs: endAt === undefined ? 0 : performance.now() - endAt,
      config,
      name,
      introduced: introduce,
      warnings,
      reader,
    };
  } catch (e) {
    try {
      domain?.destroy();
    } catch {
      // Report the original failure, not the cleanup's.
    }
    if (e instanceof StreamError || !(e instanceof Error) || !current) throw e;
    throw new RestoreError(e, current.offset, current.where);
  }
}

/**
 * The new domain's event channels for the xenstore and console rings
 * (unbound, for dom0, where xenstored and xenconsoled run), written where
 * the guest looks for them on resume, and the grant entries the backends
 * map.
 */
function connectRings(
  d: Domain,
  storeGfn: number,
  consoleGfn: number,
  ports: { store: number; console: number },
): GuestRings {
  const rings: GuestRings = {};
  if (storeGfn) {
    d.setHvmParam(HVM_PARAM_STORE_EVTCHN, ports.store);
    rings.store = { gfn: storeGfn, port: ports.store };
  }
  if (consoleGfn) {
    d.setHvmParam(HVM_PARAM_CONSOLE_EVTCHN, ports.console);
    rings.console = { gfn: consoleGfn, port: ports.console };
  }
  if (storeGfn || consoleGfn) {
    d.seedGrantTable({
      hvm: true,
      consoleGfn,
      xenstoreGfn: storeGfn,
      consoleDomid: 0,
      xenstoreDomid: 0,
    });
  }
  return rings;
}

/**
 * libxl's default HAP/shadow pool for a domain (`libxl_get_required_shadow_memory`),
 * KiB: 1 MiB per vcpu, plus 2 pages per MiB of RAM.
 */
export function requiredShadowKib(maxMemKib: number, vcpus: number): number {
  return 4 * (256 * vcpus + 2 * Math.floor(maxMemKib / 1024));
}

/** libxl refuses a second domain of the same name; so does xenmig, before creating anything. */
function refuseTakenName(hv: Hypervisor, name: string): void {
  let owner: number | undefined;
  try {
    owner = domainCalled(hv.xenstore, name);
  } catch {
    return; // no xenstore: nothing to clash with (the write later says so)
  }
  if (owner !== undefined) {
    throw new Error(
      `domain ${owner} is already called ${name}: destroy or rename it, or restore with --name`,
    );
  }
}

/**
 * Sets the HVM context; when the hypervisor refuses it because the context
 * holds more vcpus than the domain was created with (a libxl or bare libxc
 * stream carries no vcpu count), says so and how to fix it.
 */
function applyHvmContext(d: Domain, blob: Uint8Array, vcpus: number): void {
  try {
    d.setHvmContext(blob);
  } catch (e) {
    let inStream = 0;
    try {
      for (const r of decodeHvmContext(blob)) {
        if (r.typecode === HVM_SAVE_TYPE.CPU) inStream = Math.max(inStream, r.instance + 1);
      }
    } catch {
      // A malformed blob: the hypervisor's own error says enough.
    }
    if (inStream > vcpus) {
      throw new Error(
        `the stream's HVM context has ${inStream} vcpus but the domain was created with ${vcpus}: ` +
          `restore with --vcpus ${inStream} (libxl and bare libxc streams carry no vcpu count)`,
        { cause: e },
      );
    }
    throw e;
  }
}

function definedOnly(o: RestoreOptions): Partial<DomainShape> {
  const out: Partial<DomainShape> = {};
  if (o.maxMemKib !== undefined) out.maxMemKib = o.maxMemKib;
  if (o.vcpus !== undefined) out.vcpus = o.vcpus;
  if (o.name !== undefined) out.name = o.name;
  if (o.guestType !== undefined) out.guestType = o.guestType;
  return out;
}
