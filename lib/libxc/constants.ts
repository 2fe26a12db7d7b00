/**
 * Constants of the libxc migration stream, named as in Xen's
 * `docs/specs/libxc-migration-stream.pandoc` and
 * `tools/libs/guest/xg_sr_stream_format.h`.
 *
 * @module
 */

/** Image header `marker`: all ones. */
export const IHDR_MARKER = 0xffffffffffffffffn;
/** Image header `id`: "XENF". */
export const IHDR_IDENT = 0x58454e46;
/** Image versions this library reads (v3 adds STATIC_DATA_END and policies). */
export const IHDR_VERSION_MIN = 2;
/** Newest image version. */
export const IHDR_VERSION_MAX = 3;
/** Options bit number of the endianness flag (set: big endian). */
export const IHDR_OPT_BIT_ENDIAN = 0;
/** Options value for a little-endian stream. */
export const IHDR_OPT_LE = 0 << IHDR_OPT_BIT_ENDIAN;
/** Options value for a big-endian stream. */
export const IHDR_OPT_BE = 1 << IHDR_OPT_BIT_ENDIAN;
/** Reserved option bits, which must be zero. */
export const IHDR_OPT_RESZ_MASK = 0xfffe;
/** Size of the image header. */
export const IHDR_SIZE = 24;

/** Domain header types. */
export const DHDR_TYPE = {
  X86_PV: 0x00000001,
  X86_HVM: 0x00000002,
} as const;

/** Display names of domain types, as Xen's verifier prints them. */
export const DHDR_TYPE_NAMES: Readonly<Record<number, string>> = {
  [DHDR_TYPE.X86_PV]: "x86 PV",
  [DHDR_TYPE.X86_HVM]: "x86 HVM",
};
/** Size of the domain header. */
export const DHDR_SIZE = 16;
/** The only page shift x86 streams use. */
export const DHDR_PAGE_SHIFT_X86 = 12;

/** Record types (`REC_TYPE_*`). */
export const REC_TYPE = {
  END: 0x00000000,
  PAGE_DATA: 0x00000001,
  X86_PV_INFO: 0x00000002,
  X86_PV_P2M_FRAMES: 0x00000003,
  X86_PV_VCPU_BASIC: 0x00000004,
  X86_PV_VCPU_EXTENDED: 0x00000005,
  X86_PV_VCPU_XSAVE: 0x00000006,
  SHARED_INFO: 0x00000007,
  X86_TSC_INFO: 0x00000008,
  HVM_CONTEXT: 0x00000009,
  HVM_PARAMS: 0x0000000a,
  TOOLSTACK: 0x0000000b,
  X86_PV_VCPU_MSRS: 0x0000000c,
  VERIFY: 0x0000000d,
  CHECKPOINT: 0x0000000e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0000000f,
  STATIC_DATA_END: 0x00000010,
  X86_CPUID_POLICY: 0x00000011,
  X86_MSR_POLICY: 0x00000012,
} as const;

/** A known libxc record type. */
export type LibxcRecordType = typeof REC_TYPE[keyof typeof REC_TYPE];

/** Spec name of each record type (`REC_TYPE_` dropped). */
export const REC_TYPE_NAMES: Readonly<Record<number, keyof typeof REC_TYPE>> = Object.fromEntries(
  Object.entries(REC_TYPE).map(([k, v]) => [v, k as keyof typeof REC_TYPE]),
);

/** Display names, exactly as Xen's `verify-stream-v2` prints them. */
export const REC_TYPE_TITLES: Readonly<Record<number, string>> = {
  [REC_TYPE.END]: "End",
  [REC_TYPE.PAGE_DATA]: "Page data",
  [REC_TYPE.X86_PV_INFO]: "x86 PV info",
  [REC_TYPE.X86_PV_P2M_FRAMES]: "x86 PV P2M frames",
  [REC_TYPE.X86_PV_VCPU_BASIC]: "x86 PV vcpu basic",
  [REC_TYPE.X86_PV_VCPU_EXTENDED]: "x86 PV vcpu extended",
  [REC_TYPE.X86_PV_VCPU_XSAVE]: "x86 PV vcpu xsave",
  [REC_TYPE.SHARED_INFO]: "Shared info",
  [REC_TYPE.X86_TSC_INFO]: "TSC info",
  [REC_TYPE.HVM_CONTEXT]: "HVM context",
  [REC_TYPE.HVM_PARAMS]: "HVM params",
  [REC_TYPE.TOOLSTACK]: "Toolstack",
  [REC_TYPE.X86_PV_VCPU_MSRS]: "x86 PV vcpu msrs",
  [REC_TYPE.VERIFY]: "Verify",
  [REC_TYPE.CHECKPOINT]: "Checkpoint",
  [REC_TYPE.CHECKPOINT_DIRTY_PFN_LIST]: "Checkpoint dirty pfn list",
  [REC_TYPE.STATIC_DATA_END]: "Static data end",
  [REC_TYPE.X86_CPUID_POLICY]: "x86 CPUID policy",
  [REC_TYPE.X86_MSR_POLICY]: "x86 MSR policy",
};

/** Name for messages: the spec name, or the hex type when unknown. */
export function recTypeName(type: number): string {
  return REC_TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(8, "0")}`;
}

/**
 * Page types in PAGE_DATA pfn entries: `XEN_DOMCTL_PFINFO_*` from
 * `xen/public/domctl.h`, shifted down by 28 (they sit in bits 60–63 of the
 * 64-bit entry, i.e. bits 28–31 of its high word).
 */
export const PAGE_TYPE = {
  NOTAB: 0x0,
  L1TAB: 0x1,
  L2TAB: 0x2,
  L3TAB: 0x3,
  L4TAB: 0x4,
  /** Pinned flag, or'ed into L1TAB..L4TAB. */
  LPINTAB: 0x8,
  BROKEN: 0xd,
  XALLOC: 0xe,
  XTAB: 0xf,
} as const;

/** Mask of the page-table level within a page type (`XEN_DOMCTL_PFINFO_LTABTYPE_MASK`). */
export const PAGE_TYPE_LTABTYPE_MASK = 0x7;

/** PFNs are 52 bits wide; bits 52–59 of a pfn entry are reserved. */
export const PAGE_DATA_PFN_BITS = 52;

/** Page type values no stream may use. */
export const PAGE_TYPE_INVALID: ReadonlySet<number> = new Set([5, 6, 7, 8]);

/** Whether a PAGE_DATA entry of page type `type` carries page contents. */
export function pageTypeHasData(type: number): boolean {
  return (type & PAGE_TYPE_LTABTYPE_MASK) <= PAGE_TYPE.L4TAB;
}

/** Whether `type` is a pagetable type (L1..L4, pinned or not). */
export function pageTypeIsPagetable(type: number): boolean {
  const level = type & PAGE_TYPE_LTABTYPE_MASK;
  return level >= PAGE_TYPE.L1TAB && level <= PAGE_TYPE.L4TAB;
}

/** Display names of page types (for summaries). */
export const PAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x0: "NOTAB",
  0x1: "L1TAB",
  0x2: "L2TAB",
  0x3: "L3TAB",
  0x4: "L4TAB",
  0x9: "L1TAB|LPINTAB",
  0xa: "L2TAB|LPINTAB",
  0xb: "L3TAB|LPINTAB",
  0xc: "L4TAB|LPINTAB",
  0xd: "BROKEN",
  0xe: "XALLOC",
  0xf: "XTAB",
};

/** Page size of x86 streams. */
export const PAGE_SIZE = 4096;

/** Most pfns Xen puts in one PAGE_DATA record (`MAX_BATCH_SIZE`). */
export const MAX_BATCH_SIZE = 1024;

/** `XEN_CPUID_NO_SUBLEAF`, from the Xen ABI constants. */
export { XEN_CPUID_NO_SUBLEAF } from "../xen/constants.ts";
