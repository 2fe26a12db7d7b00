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
import { PROT_READ, PROT_WRITE, XEN_DOMCTL_CDF_hap, XEN_DOMCTL_CDF_hvm } from "../xen/constants.ts";
import type { Domain } from "../xen/domain.ts";
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
  /** Domain config from the xl header, if any. */
  config?: string;
  /** Spec deviations seen (warnings). */
  warnings: StrictWarning[];
  /** The reader, positioned just after the stream (protocol messages may follow). */
  reader: StreamReader;
}

interface DomainShape {
  maxMemKib: number;
  vcpus: number;
}

function shapeFromConfig(config: string | undefined): Partial<DomainShape> {
  if (!config) return {};
  try {
    const c = JSON.parse(config);
    const memkb = Number(c?.b_info?.max_memkb);
    const vcpus = Number(c?.b_info?.max_vcpus);
    return {
      maxMemKib: Number.isSafeInteger(memkb) && memkb > 0 ? memkb : undefined,
      // vcpu counts are 32-bit in the hypercalls; a larger one (the config
      // is part of the untrusted stream) is no count (found by fuzzing).
      vcpus: Number.isSafeInteger(vcpus) && vcpus > 0 && vcpus <= 0xffffffff ? vcpus : undefined,
    };
  } catch {
    return {};
  }
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
 * const r = await restoreStream(session.hv, bytesSource(out.bytes()));
 * console.assert(r.domid !== session.domid && r.pages > 0);
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
  let skipLibxcBody = false;
  let vcpus = 1;
  let current: { offset: number; where: string } | undefined;

  const create = (): Domain => {
    const shape = { ...shapeFromConfig(config), ...definedOnly(options) };
    const maxMemKib = shape.maxMemKib ?? 1024 * 1024;
    vcpus = shape.vcpus ?? 1;
    const memPages = Math.ceil(maxMemKib / 4);
    pfnLimit = options.pfnLimit ?? Math.max(LOW_PFN_SPACE, memPages + MMIO_HOLE_PAGES);
    const d = hv.createDomain({ maxVcpus: vcpus, flags: XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap });
    try {
      // Never beyond the guest's physical address width: a memory size
      // taken from the stream's config must not let its pfns outside the
      // domain's range (found by fuzzing: the simulator counted the access).
      const bits = d.info().gpaddrBits;
      if (bits > 12 && bits < 64) pfnLimit = Math.min(pfnLimit, 2 ** (bits - 12));
      d.setMaxVcpus(vcpus);
      d.setMaxMem(maxMemKib + LIBXL_MAXMEM_CONSTANT);
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
              for (const p of rec.params) d.setHvmParam(Number(p.index), p.value);
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
              if (hvmContext) applyHvmContext(d, hvmContext, vcpus);
              break;
          }
          break;
        }
      }
    }
    if (!domain) throw new StreamError("stream has no libxc image", reader.offset, "end of stream");
    if (options.unpause) domain.unpause();
    return {
      domid: domain.domid,
      pages,
      pageRecords,
      populated: populated.unique,
      bytes: reader.offset,
      ms: performance.now() - t0,
      config,
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
  return out;
}
