/**
 * Typed decode and encode of every libxc record body, v2 and v3.  Layouts
 * follow `docs/specs/libxc-migration-stream.pandoc` field for field; fields
 * marked reserved are kept, so `encodeLibxcRecord(decodeLibxcRecord(t, b))`
 * reproduces `b` byte for byte for every well-formed record.
 *
 * Decoding checks structure only (sizes, counts); whether values are
 * acceptable (reserved bits zero, versions, ordering) is for the verifiers.
 *
 * @module
 */

import { RecordError } from "../errors.ts";
import { encodeRecord } from "../record_header.ts";
import { PAGE_SIZE, REC_TYPE, recTypeName } from "./constants.ts";
import { decodePageData, encodePageDataRecord, type PageData } from "./page_data.ts";

/** END: no fields. */
export interface EndRecord {
  /** Record type. */
  type: typeof REC_TYPE.END;
}
/** PAGE_DATA: see `page_data.ts`. */
export interface PageDataRecord extends PageData {
  /** Record type. */
  type: typeof REC_TYPE.PAGE_DATA;
}
/** X86_PV_INFO: guest width and pagetable levels. */
export interface X86PvInfoRecord {
  /** Record type. */
  type: typeof REC_TYPE.X86_PV_INFO;
  /** Guest word size in octets: 4 or 8. */
  guestWidth: number;
  /** Pagetable levels: 3 or 4. */
  ptLevels: number;
  /** Reserved 16 bits. */
  reserved1: number;
  /** Reserved 32 bits. */
  reserved2: number;
}
/** X86_PV_P2M_FRAMES: the frames of the guest's p2m. */
export interface X86PvP2mFramesRecord {
  /** Record type. */
  type: typeof REC_TYPE.X86_PV_P2M_FRAMES;
  /** First pfn the frames cover. */
  p2mStartPfn: number;
  /** Last pfn the frames cover. */
  p2mEndPfn: number;
  /** The p2m frame list (u64 each). */
  p2mPfns: bigint[];
}
/** The four PV vcpu context records share one shape. */
export type X86PvVcpuType =
  | typeof REC_TYPE.X86_PV_VCPU_BASIC
  | typeof REC_TYPE.X86_PV_VCPU_EXTENDED
  | typeof REC_TYPE.X86_PV_VCPU_XSAVE
  | typeof REC_TYPE.X86_PV_VCPU_MSRS;
/** X86_PV_VCPU_{BASIC,EXTENDED,XSAVE,MSRS}: one vcpu's context blob. */
export interface X86PvVcpuRecord {
  /** Record type. */
  type: X86PvVcpuType;
  /** vcpu number. */
  vcpuId: number;
  /** Reserved 32 bits. */
  reserved: number;
  /** The context, opaque here (`vcpu_guest_context`, xsave area, MSR list). */
  context: Uint8Array;
}
/** SHARED_INFO: the 4096-octet shared info page. */
export interface SharedInfoRecord {
  /** Record type. */
  type: typeof REC_TYPE.SHARED_INFO;
  /** The page. */
  data: Uint8Array;
}
/** X86_TSC_INFO. */
export interface X86TscInfoRecord {
  /** Record type. */
  type: typeof REC_TYPE.X86_TSC_INFO;
  /** `XEN_TSC_MODE_*`. */
  mode: number;
  /** TSC frequency in kHz. */
  khz: number;
  /** Elapsed nanoseconds. */
  nsec: bigint;
  /** TSC incarnation. */
  incarnation: number;
  /** Reserved 32 bits. */
  reserved: number;
}
/** HVM_CONTEXT: the hypervisor's HVM save records (see `hvm_context.ts`). */
export interface HvmContextRecord {
  /** Record type. */
  type: typeof REC_TYPE.HVM_CONTEXT;
  /** The blob from `XEN_DOMCTL_gethvmcontext`. */
  data: Uint8Array;
}
/** One HVM parameter. */
export interface HvmParam {
  /** `HVM_PARAM_*` index. */
  index: bigint;
  /** Value. */
  value: bigint;
}
/** HVM_PARAMS. */
export interface HvmParamsRecord {
  /** Record type. */
  type: typeof REC_TYPE.HVM_PARAMS;
  /** Reserved 32 bits. */
  reserved: number;
  /** The parameters. */
  params: HvmParam[];
}
/** Records that only carry a blob: TOOLSTACK (deprecated). */
export interface ToolstackRecord {
  /** Record type. */
  type: typeof REC_TYPE.TOOLSTACK;
  /** Opaque toolstack data. */
  data: Uint8Array;
}
/** Signalling records with no body. */
export interface SignalRecord {
  /** Record type. */
  type: typeof REC_TYPE.VERIFY | typeof REC_TYPE.CHECKPOINT | typeof REC_TYPE.STATIC_DATA_END;
}
/** CHECKPOINT_DIRTY_PFN_LIST (COLO). */
export interface CheckpointDirtyPfnListRecord {
  /** Record type. */
  type: typeof REC_TYPE.CHECKPOINT_DIRTY_PFN_LIST;
  /** Dirty pfns (u64 each). */
  pfns: bigint[];
}
/** One `xen_cpuid_leaf_t`. */
export interface CpuidLeaf {
  /** Leaf. */
  leaf: number;
  /** Subleaf, or `XEN_CPUID_NO_SUBLEAF`. */
  subleaf: number;
  /** eax. */
  a: number;
  /** ebx. */
  b: number;
  /** ecx. */
  c: number;
  /** edx. */
  d: number;
}
/** X86_CPUID_POLICY: `xen_cpuid_leaf_t[]`. */
export interface X86CpuidPolicyRecord {
  /** Record type. */
  type: typeof REC_TYPE.X86_CPUID_POLICY;
  /** The leaves. */
  leaves: CpuidLeaf[];
}
/** One `xen_msr_entry_t`. */
export interface MsrEntry {
  /** MSR index. */
  idx: number;
  /** Reserved, must be zero. */
  flags: number;
  /** Value. */
  val: bigint;
}
/** X86_MSR_POLICY: `xen_msr_entry_t[]`. */
export interface X86MsrPolicyRecord {
  /** Record type. */
  type: typeof REC_TYPE.X86_MSR_POLICY;
  /** The MSRs. */
  msrs: MsrEntry[];
}
/** A record of a type this library does not know (e.g. a future optional record). */
export interface UnknownLibxcRecord {
  /** Record type. */
  type: number;
  /** Raw body. */
  data: Uint8Array;
  /** Marks the record as not understood. */
  unknown: true;
}

/** Any libxc record. */
export type LibxcRecord =
  | EndRecord
  | PageDataRecord
  | X86PvInfoRecord
  | X86PvP2mFramesRecord
  | X86PvVcpuRecord
  | SharedInfoRecord
  | X86TscInfoRecord
  | HvmContextRecord
  | HvmParamsRecord
  | ToolstackRecord
  | SignalRecord
  | CheckpointDirtyPfnListRecord
  | X86CpuidPolicyRecord
  | X86MsrPolicyRecord;

/** Body sizes of the fixed-size records. */
export const X86_PV_INFO_SIZE = 8;
/** X86_TSC_INFO body size. */
export const X86_TSC_INFO_SIZE = 24;
/** Size of the vcpu id + reserved header of vcpu records. */
export const X86_PV_VCPU_HEADER_SIZE = 8;
/** HVM_PARAMS header size (count + reserved). */
export const HVM_PARAMS_HEADER_SIZE = 8;
/** Size of one HVM_PARAMS entry. */
export const HVM_PARAMS_ENTRY_SIZE = 16;
/** Size of one `xen_cpuid_leaf_t`. */
export const CPUID_LEAF_SIZE = 24;
/** Size of one `xen_msr_entry_t`. */
export const MSR_ENTRY_SIZE = 16;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function need(body: Uint8Array, cond: boolean, what: string, offset: number): void {
  if (!cond) throw new RecordError(`${what}: bad body length ${body.length}`, offset);
}

function u64s(body: Uint8Array, from: number): bigint[] {
  const v = view(body);
  const out: bigint[] = [];
  for (let at = from; at + 8 <= body.length; at += 8) out.push(v.getBigUint64(at, true));
  return out;
}

/**
 * Decodes the body of a libxc record of type `type`.  Unknown types decode to
 * {@linkcode UnknownLibxcRecord}.  Throws {@linkcode RecordError} (located at
 * `offset`) when the body cannot hold the record's layout.  Page data and
 * blobs are views of `body`, not copies.
 *
 * @example
 * ```ts
 * import { decodeLibxcRecord, encodeLibxcRecord } from "./records.ts";
 * import { REC_TYPE } from "./constants.ts";
 * const rec = { type: REC_TYPE.X86_TSC_INFO, mode: 2, khz: 0, nsec: 0n, incarnation: 1, reserved: 0 } as const;
 * const bytes = encodeLibxcRecord(rec);
 * const back = decodeLibxcRecord(REC_TYPE.X86_TSC_INFO, bytes.subarray(8, 8 + 24));
 * console.assert("incarnation" in back && back.incarnation === 1);
 * ```
 */
export function decodeLibxcRecord(
  type: number,
  body: Uint8Array,
  offset = 0,
): LibxcRecord | UnknownLibxcRecord {
  const name = recTypeName(type);
  switch (type) {
    case REC_TYPE.END:
      need(body, body.length === 0, name, offset);
      return { type };
    case REC_TYPE.VERIFY:
    case REC_TYPE.CHECKPOINT:
    case REC_TYPE.STATIC_DATA_END:
      need(body, body.length === 0, name, offset);
      return { type };
    case REC_TYPE.PAGE_DATA:
      return { type, ...decodePageData(body, offset) };
    case REC_TYPE.X86_PV_INFO: {
      need(body, body.length === X86_PV_INFO_SIZE, name, offset);
      const v = view(body);
      return {
        type,
        guestWidth: v.getUint8(0),
        ptLevels: v.getUint8(1),
        reserved1: v.getUint16(2, true),
        reserved2: v.getUint32(4, true),
      };
    }
    case REC_TYPE.X86_PV_P2M_FRAMES: {
      need(body, body.length >= 8 && body.length % 8 === 0, name, offset);
      const v = view(body);
      return {
        type,
        p2mStartPfn: v.getUint32(0, true),
        p2mEndPfn: v.getUint32(4, true),
        p2mPfns: u64s(body, 8),
      };
    }
    case REC_TYPE.X86_PV_VCPU_BASIC:
    case REC_TYPE.X86_PV_VCPU_EXTENDED:
    case REC_TYPE.X86_PV_VCPU_XSAVE:
    case REC_TYPE.X86_PV_VCPU_MSRS: {
      need(body, body.length >= X86_PV_VCPU_HEADER_SIZE, name, offset);
      const v = view(body);
      return {
        type,
        vcpuId: v.getUint32(0, true),
        reserved: v.getUint32(4, true),
        context: body.subarray(X86_PV_VCPU_HEADER_SIZE),
      };
    }
    case REC_TYPE.SHARED_INFO:
      need(body, body.length === PAGE_SIZE, name, offset);
      return { type, data: body };
    case REC_TYPE.X86_TSC_INFO: {
      need(body, body.length === X86_TSC_INFO_SIZE, name, offset);
      const v = view(body);
      return {
        type,
        mode: v.getUint32(0, true),
        khz: v.getUint32(4, true),
        nsec: v.getBigUint64(8, true),
        incarnation: v.getUint32(16, true),
        reserved: v.getUint32(20, true),
      };
    }
    case REC_TYPE.HVM_CONTEXT:
      return { type, data: body };
    case REC_TYPE.TOOLSTACK:
      return { type, data: body };
    case REC_TYPE.HVM_PARAMS: {
      need(body, body.length >= HVM_PARAMS_HEADER_SIZE, name, offset);
      const v = view(body);
      const count = v.getUint32(0, true);
      need(
        body,
        body.length === HVM_PARAMS_HEADER_SIZE + count * HVM_PARAMS_ENTRY_SIZE,
        name,
        offset,
      );
      const params: HvmParam[] = [];
      for (let i = 0, at = HVM_PARAMS_HEADER_SIZE; i < count; i++, at += HVM_PARAMS_ENTRY_SIZE) {
        params.push({ index: v.getBigUint64(at, true), value: v.getBigUint64(at + 8, true) });
      }
      return { type, reserved: v.getUint32(4, true), params };
    }
    case REC_TYPE.CHECKPOINT_DIRTY_PFN_LIST:
      need(body, body.length % 8 === 0, name, offset);
      return { type, pfns: u64s(body, 0) };
    case REC_TYPE.X86_CPUID_POLICY: {
      need(body, body.length % CPUID_LEAF_SIZE === 0, name, offset);
      const v = view(body);
      const leaves: CpuidLeaf[] = [];
      for (let at = 0; at < body.length; at += CPUID_LEAF_SIZE) {
        leaves.push({
          leaf: v.getUint32(at, true),
          subleaf: v.getUint32(at + 4, true),
          a: v.getUint32(at + 8, true),
          b: v.getUint32(at + 12, true),
          c: v.getUint32(at + 16, true),
          d: v.getUint32(at + 20, true),
        });
      }
      return { type, leaves };
    }
    case REC_TYPE.X86_MSR_POLICY: {
      need(body, body.length % MSR_ENTRY_SIZE === 0, name, offset);
      const v = view(body);
      const msrs: MsrEntry[] = [];
      for (let at = 0; at < body.length; at += MSR_ENTRY_SIZE) {
        msrs.push({
          idx: v.getUint32(at, true),
          flags: v.getUint32(at + 4, true),
          val: v.getBigUint64(at + 8, true),
        });
      }
      return { type, msrs };
    }
    default:
      return { type, data: body, unknown: true };
  }
}

function fixed(size: number, fill: (v: DataView) => void): Uint8Array {
  const body = new Uint8Array(size);
  fill(new DataView(body.buffer));
  return body;
}

function withU64s(head: Uint8Array, values: readonly bigint[]): Uint8Array {
  const body = new Uint8Array(head.length + values.length * 8);
  body.set(head);
  const v = new DataView(body.buffer);
  values.forEach((x, i) => v.setBigUint64(head.length + i * 8, x, true));
  return body;
}

/**
 * Encodes the body (no header, no padding) of a libxc record.
 *
 * @example
 * ```ts
 * import { encodeLibxcBody } from "./records.ts";
 * import { REC_TYPE } from "./constants.ts";
 * const body = encodeLibxcBody({ type: REC_TYPE.HVM_PARAMS, reserved: 0, params: [{ index: 1n, value: 0xfeffcn }] });
 * console.assert(body.length === 8 + 16);
 * ```
 */
export function encodeLibxcBody(rec: LibxcRecord | UnknownLibxcRecord): Uint8Array {
  if ("unknown" in rec) return rec.data;
  switch (rec.type) {
    case REC_TYPE.END:
    case REC_TYPE.VERIFY:
    case REC_TYPE.CHECKPOINT:
    case REC_TYPE.STATIC_DATA_END:
      return new Uint8Array(0);
    case REC_TYPE.PAGE_DATA:
      return encodePageDataRecord(rec).subarray(8, 8 + 8 + rec.count * 8 + rec.pages.length);
    case REC_TYPE.X86_PV_INFO:
      return fixed(X86_PV_INFO_SIZE, (v) => {
        v.setUint8(0, rec.guestWidth);
        v.setUint8(1, rec.ptLevels);
        v.setUint16(2, rec.reserved1, true);
        v.setUint32(4, rec.reserved2, true);
      });
    case REC_TYPE.X86_PV_P2M_FRAMES:
      return withU64s(
        fixed(8, (v) => {
          v.setUint32(0, rec.p2mStartPfn, true);
          v.setUint32(4, rec.p2mEndPfn, true);
        }),
        rec.p2mPfns,
      );
    case REC_TYPE.X86_PV_VCPU_BASIC:
    case REC_TYPE.X86_PV_VCPU_EXTENDED:
    case REC_TYPE.X86_PV_VCPU_XSAVE:
    case REC_TYPE.X86_PV_VCPU_MSRS: {
      const body = new Uint8Array(X86_PV_VCPU_HEADER_SIZE + rec.context.length);
      const v = new DataView(body.buffer);
      v.setUint32(0, rec.vcpuId, true);
      v.setUint32(4, rec.reserved, true);
      body.set(rec.context, X86_PV_VCPU_HEADER_SIZE);
      return body;
    }
    case REC_TYPE.SHARED_INFO:
    case REC_TYPE.HVM_CONTEXT:
    case REC_TYPE.TOOLSTACK:
      return rec.data;
    case REC_TYPE.X86_TSC_INFO:
      return fixed(X86_TSC_INFO_SIZE, (v) => {
        v.setUint32(0, rec.mode, true);
        v.setUint32(4, rec.khz, true);
        v.setBigUint64(8, rec.nsec, true);
        v.setUint32(16, rec.incarnation, true);
        v.setUint32(20, rec.reserved, true);
      });
    case REC_TYPE.HVM_PARAMS:
      return fixed(HVM_PARAMS_HEADER_SIZE + rec.params.length * HVM_PARAMS_ENTRY_SIZE, (v) => {
        v.setUint32(0, rec.params.length, true);
        v.setUint32(4, rec.reserved, true);
        rec.params.forEach((p, i) => {
          v.setBigUint64(8 + i * 16, p.index, true);
          v.setBigUint64(16 + i * 16, p.value, true);
        });
      });
    case REC_TYPE.CHECKPOINT_DIRTY_PFN_LIST:
      return withU64s(new Uint8Array(0), rec.pfns);
    case REC_TYPE.X86_CPUID_POLICY:
      return fixed(rec.leaves.length * CPUID_LEAF_SIZE, (v) => {
        rec.leaves.forEach((l, i) => {
          [l.leaf, l.subleaf, l.a, l.b, l.c, l.d].forEach((x, j) =>
            v.setUint32(i * 24 + j * 4, x, true)
          );
        });
      });
    case REC_TYPE.X86_MSR_POLICY:
      return fixed(rec.msrs.length * MSR_ENTRY_SIZE, (v) => {
        rec.msrs.forEach((m, i) => {
          v.setUint32(i * 16, m.idx, true);
          v.setUint32(i * 16 + 4, m.flags, true);
          v.setBigUint64(i * 16 + 8, m.val, true);
        });
      });
  }
}

/**
 * Encodes a whole libxc record: header, body, zero padding to 8 octets.
 *
 * @example
 * ```ts
 * import { encodeLibxcRecord } from "./records.ts";
 * import { REC_TYPE } from "./constants.ts";
 * const end = encodeLibxcRecord({ type: REC_TYPE.END });
 * console.assert(end.length === 8 && end.every((b) => b === 0));
 * ```
 */
export function encodeLibxcRecord(rec: LibxcRecord | UnknownLibxcRecord): Uint8Array {
  return encodeRecord(rec.type, encodeLibxcBody(rec));
}
