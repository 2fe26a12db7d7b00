/**
 * `--strict`: what the specs require and Xen's verifier does not check —
 * record order, page types legal for the guest type, the HVM context's own
 * save records, CPUID / MSR policy entries, xenstore key syntax, the xl
 * header's byte order and flags, and nothing after the final END.
 *
 * Deviations that real Xen itself produces are warnings, not errors: Xen 4.17
 * writes HVM_CONTEXT before HVM_PARAMS although the spec asks the opposite
 * (its restore applies both at the end, so the order is harmless).
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import {
  DHDR_TYPE,
  PAGE_TYPE_NAMES,
  pageTypeIsPagetable,
  REC_TYPE,
  recTypeName,
} from "../libxc/constants.ts";
import {
  decodeHvmContext,
  HVM_FILE_MAGIC,
  HVM_SAVE_CODE_MAX,
  HVM_SAVE_HEADER_SIZE,
  HVM_SAVE_TYPE,
} from "../libxc/hvm_context.ts";
import type { LibxcRecord, UnknownLibxcRecord } from "../libxc/records.ts";
import { CHECKPOINT_STATE_CONTROL, LIBXL_REC_TYPE, libxlRecTypeName } from "../libxl/constants.ts";
import type { LibxlRecord, UnknownLibxlRecord } from "../libxl/records.ts";
import {
  SAVEFILE_BYTEORDER_VALUE,
  XL_MANDATORY_FLAG_ALL,
  XL_MANDATORY_FLAG_JSON,
  type XlHeader,
} from "../xl/header.ts";
import { hex } from "./format.ts";

/** A spec deviation that does not make the stream invalid. */
export interface StrictWarning {
  /** What deviates. */
  message: string;
  /** Byte offset of the record concerned. */
  offset: number;
}

/** Where a record sits, for messages. */
export interface RecordPlace {
  /** Offset of the record header. */
  offset: number;
  /** Human name of the record, e.g. "libxc record 7 (PAGE_DATA)". */
  where: string;
}

/** Records that carry static data (must precede STATIC_DATA_END in v3). */
const STATIC_RECORDS: ReadonlySet<number> = new Set([
  REC_TYPE.X86_PV_INFO,
  REC_TYPE.X86_CPUID_POLICY,
  REC_TYPE.X86_MSR_POLICY,
]);
/** Records with memory or register content (must follow STATIC_DATA_END in v3). */
const CONTENT_RECORDS: ReadonlySet<number> = new Set([
  REC_TYPE.PAGE_DATA,
  REC_TYPE.X86_PV_P2M_FRAMES,
  REC_TYPE.X86_PV_VCPU_BASIC,
  REC_TYPE.X86_PV_VCPU_EXTENDED,
  REC_TYPE.X86_PV_VCPU_XSAVE,
  REC_TYPE.X86_PV_VCPU_MSRS,
  REC_TYPE.SHARED_INFO,
  REC_TYPE.X86_TSC_INFO,
  REC_TYPE.HVM_CONTEXT,
  REC_TYPE.HVM_PARAMS,
]);
const PV_ONLY: ReadonlySet<number> = new Set([
  REC_TYPE.X86_PV_INFO,
  REC_TYPE.X86_PV_P2M_FRAMES,
  REC_TYPE.X86_PV_VCPU_BASIC,
  REC_TYPE.X86_PV_VCPU_EXTENDED,
  REC_TYPE.X86_PV_VCPU_XSAVE,
  REC_TYPE.X86_PV_VCPU_MSRS,
  REC_TYPE.SHARED_INFO,
]);
const HVM_ONLY: ReadonlySet<number> = new Set([REC_TYPE.HVM_CONTEXT, REC_TYPE.HVM_PARAMS]);
const PV_VCPU: ReadonlySet<number> = new Set([
  REC_TYPE.X86_PV_VCPU_BASIC,
  REC_TYPE.X86_PV_VCPU_EXTENDED,
  REC_TYPE.X86_PV_VCPU_XSAVE,
  REC_TYPE.X86_PV_VCPU_MSRS,
]);

/** xenstore path characters (docs/misc/xenstore.txt): `[A-Za-z0-9/_@-]`. */
const XENSTORE_KEY = /^[A-Za-z0-9/_@-]+$/;

/** Checks one libxc stream (one image) in strict mode. */
export class StrictLibxcChecker {
  #version: number;
  #guest: number;
  #staticEnd = false;
  #seen = new Set<number>();
  #vcpuSinceCheckpoint = false;
  #warnings: StrictWarning[];

  /** Starts checking an image of `version` for guest type `domainType`. */
  constructor(version: number, domainType: number, warnings: StrictWarning[]) {
    this.#version = version;
    this.#guest = domainType;
    this.#warnings = warnings;
  }

  /** Checks one record, decoded, in stream order. */
  record(rec: LibxcRecord | UnknownLibxcRecord, at: RecordPlace): void {
    const fail = (msg: string): never => {
      throw new StreamError(msg, at.offset, at.where);
    };
    const t = rec.type;
    const name = recTypeName(t);
    const pv = this.#guest === DHDR_TYPE.X86_PV;
    if (pv && HVM_ONLY.has(t)) fail(`${name} record in a PV stream`);
    if (!pv && PV_ONLY.has(t)) fail(`${name} record in an HVM stream`);

    // v2 streams have no STATIC_DATA_END; the spec infers it at the first
    // X86_PV_P2M_FRAMES (PV) or PAGE_DATA (HVM) record.
    if (
      this.#version < 3 && !this.#staticEnd &&
      t === (pv ? REC_TYPE.X86_PV_P2M_FRAMES : REC_TYPE.PAGE_DATA)
    ) {
      this.#staticEnd = true;
    }
    if (t === REC_TYPE.STATIC_DATA_END) {
      if (this.#staticEnd) fail("second STATIC_DATA_END record");
      this.#staticEnd = true;
    }
    if (STATIC_RECORDS.has(t) && this.#staticEnd) fail(`${name} record after STATIC_DATA_END`);
    if (CONTENT_RECORDS.has(t) && !this.#staticEnd) {
      fail(`${name} record before STATIC_DATA_END (static data must come first)`);
    }
    if (pv) {
      if (t === REC_TYPE.X86_PV_P2M_FRAMES && !this.#seen.has(REC_TYPE.X86_PV_INFO)) {
        fail("X86_PV_P2M_FRAMES record before X86_PV_INFO");
      }
      if (t === REC_TYPE.PAGE_DATA && !this.#seen.has(REC_TYPE.X86_PV_P2M_FRAMES)) {
        fail("PAGE_DATA record before X86_PV_P2M_FRAMES");
      }
      if (PV_VCPU.has(t)) {
        if (!this.#seen.has(REC_TYPE.PAGE_DATA)) fail(`${name} record before any PAGE_DATA`);
        this.#vcpuSinceCheckpoint = true;
      }
      if (t === REC_TYPE.PAGE_DATA && this.#vcpuSinceCheckpoint) {
        fail("PAGE_DATA record after vcpu records");
      }
    }
    if (t === REC_TYPE.CHECKPOINT) this.#vcpuSinceCheckpoint = false;
    if (t === REC_TYPE.HVM_CONTEXT && !this.#seen.has(REC_TYPE.HVM_PARAMS)) {
      this.#warnings.push({
        offset: at.offset,
        message: "HVM_CONTEXT precedes HVM_PARAMS: the spec orders HVM_PARAMS first " +
          "(Xen 4.17 writes this order itself and applies both at the end of restore)",
      });
    }
    this.#seen.add(t);
    if ("unknown" in rec) return;

    switch (rec.type) {
      case REC_TYPE.PAGE_DATA:
        if (!pv) {
          for (let i = 0; i < rec.count; i++) {
            if (pageTypeIsPagetable(rec.types[i])) {
              fail(
                `pfn[${i}] 0x${hex(rec.pfns[i])} has pagetable type ${
                  PAGE_TYPE_NAMES[rec.types[i]]
                } in an HVM stream`,
              );
            }
          }
        }
        break;
      case REC_TYPE.HVM_CONTEXT:
        checkHvmContext(rec.data, at);
        break;
      case REC_TYPE.X86_CPUID_POLICY: {
        const keys = new Set<string>();
        rec.leaves.forEach((l, i) => {
          const key = `${l.leaf}:${l.subleaf}`;
          if (keys.has(key)) {
            fail(`CPUID leaf ${i} (0x${hex(l.leaf, 8)}:0x${hex(l.subleaf, 8)}) appears twice`);
          }
          keys.add(key);
        });
        break;
      }
      case REC_TYPE.X86_MSR_POLICY: {
        const idx = new Set<number>();
        rec.msrs.forEach((m, i) => {
          if (m.flags !== 0) {
            fail(`MSR entry ${i} (0x${hex(m.idx, 8)}) has reserved flags 0x${hex(m.flags)}`);
          }
          if (idx.has(m.idx)) fail(`MSR 0x${hex(m.idx, 8)} appears twice`);
          idx.add(m.idx);
        });
        break;
      }
      case REC_TYPE.X86_TSC_INFO:
        if (rec.mode > 3) fail(`unknown TSC mode ${rec.mode}`);
        break;
      case REC_TYPE.END:
        this.#checkComplete(fail);
        break;
    }
  }

  #checkComplete(fail: (msg: string) => never): void {
    if (!this.#staticEnd) fail("stream ended without static data (no STATIC_DATA_END)");
    if (this.#guest === DHDR_TYPE.X86_PV) {
      for (
        const t of [REC_TYPE.X86_PV_INFO, REC_TYPE.X86_PV_P2M_FRAMES, REC_TYPE.X86_PV_VCPU_BASIC]
      ) {
        if (!this.#seen.has(t)) fail(`PV stream has no ${recTypeName(t)} record`);
      }
    } else if (!this.#seen.has(REC_TYPE.HVM_CONTEXT)) {
      fail("HVM stream has no HVM_CONTEXT record");
    }
  }
}

/** Decodes an HVM context blob and checks its save records. */
function checkHvmContext(blob: Uint8Array, at: RecordPlace): void {
  const fail = (msg: string): never => {
    throw new StreamError(`HVM context: ${msg}`, at.offset, at.where);
  };
  let recs;
  try {
    recs = decodeHvmContext(blob, at.offset + 8);
  } catch (e) {
    throw new StreamError((e as Error).message, at.offset, at.where);
  }
  const first = recs[0];
  if (first.typecode !== HVM_SAVE_TYPE.HEADER) {
    fail(`first save record has typecode ${first.typecode}, not HEADER`);
  }
  if (first.data.length < HVM_SAVE_HEADER_SIZE) {
    fail(`HEADER save record of ${first.data.length} bytes`);
  }
  const magic = new DataView(first.data.buffer, first.data.byteOffset, 4).getUint32(0, true);
  if (magic !== HVM_FILE_MAGIC) {
    fail(`HEADER magic 0x${hex(magic, 8)}, expected 0x${hex(HVM_FILE_MAGIC, 8)}`);
  }
  for (const r of recs) {
    if (r.typecode > HVM_SAVE_CODE_MAX) {
      fail(`save record at ${r.offset} has unknown typecode ${r.typecode}`);
    }
  }
}

/** Checks the libxl layer in strict mode. */
export class StrictLibxlChecker {
  #libxcContexts = 0;

  /** Checks one libxl record, decoded, in stream order. */
  record(rec: LibxlRecord | UnknownLibxlRecord, at: RecordPlace, checkpointed: boolean): void {
    const fail = (msg: string): never => {
      throw new StreamError(msg, at.offset, at.where);
    };
    if ("unknown" in rec) return fail(`unknown libxl record type ${libxlRecTypeName(rec.type)}`);
    switch (rec.type) {
      case LIBXL_REC_TYPE.LIBXC_CONTEXT:
        if (++this.#libxcContexts > 1 && !checkpointed) fail("second LIBXC_CONTEXT record");
        break;
      case LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA:
        for (const e of rec.entries) {
          if (!XENSTORE_KEY.test(e.key)) {
            fail(`xenstore key '${e.key}' has characters outside [A-Za-z0-9/_@-]`);
          }
        }
        break;
      case LIBXL_REC_TYPE.CHECKPOINT_STATE:
        if (!(Object.values(CHECKPOINT_STATE_CONTROL) as number[]).includes(rec.controlId)) {
          fail(`unknown CHECKPOINT_STATE control_id ${rec.controlId}`);
        }
        break;
      case LIBXL_REC_TYPE.END:
        if (this.#libxcContexts === 0) fail("libxl stream ended without a LIBXC_CONTEXT record");
        break;
    }
  }
}

/** Checks the xl header in strict mode. */
export function checkXlHeader(
  h: XlHeader,
  optionalData: Uint8Array,
  offset: number,
  warnings: StrictWarning[],
): void {
  const fail = (msg: string): never => {
    throw new StreamError(msg, offset, "xl header");
  };
  if (h.byteorder !== SAVEFILE_BYTEORDER_VALUE) {
    fail(
      `byte order word 0x${
        hex(h.byteorder, 8)
      } is not 0x01020304: saved on a host of other endianness`,
    );
  }
  const unknown = h.mandatoryFlags & ~XL_MANDATORY_FLAG_ALL;
  if (unknown) fail(`unknown mandatory flags 0x${hex(unknown)} (xl restore refuses the file)`);
  if (h.mandatoryFlags & XL_MANDATORY_FLAG_JSON && optionalData.length >= 4) {
    const len = new DataView(optionalData.buffer, optionalData.byteOffset, 4).getUint32(0, true);
    if (4 + len > optionalData.length) {
      fail(`config length ${len} overruns the ${optionalData.length}-byte optional data`);
    }
    const text = new TextDecoder().decode(optionalData.subarray(4, 4 + len)).replace(/\0$/, "");
    try {
      JSON.parse(text);
    } catch {
      warnings.push({
        offset,
        message: "xl header says JSON config, but the config is not valid JSON",
      });
    }
  }
}
