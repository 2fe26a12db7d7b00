/**
 * Record builders for the corpus, written from the specs
 * (`libxc-migration-stream.pandoc`, `libxl-migration-stream.pandoc`) with
 * {@linkcode pack} rather than the library's encoders.  Each builder returns a
 * {@linkcode Rec}: type, body, and optionally a lying `length` or non-zero
 * `padding`, so invalid variants are one override away.
 *
 * @module
 */

import { align8, concat, pack, patterned, text } from "./bytes.ts";

/** libxc record types, as in Xen's `xen/migration/libxc.py`. */
export const LIBXC = {
  END: 0x00,
  PAGE_DATA: 0x01,
  X86_PV_INFO: 0x02,
  X86_PV_P2M_FRAMES: 0x03,
  X86_PV_VCPU_BASIC: 0x04,
  X86_PV_VCPU_EXTENDED: 0x05,
  X86_PV_VCPU_XSAVE: 0x06,
  SHARED_INFO: 0x07,
  X86_TSC_INFO: 0x08,
  HVM_CONTEXT: 0x09,
  HVM_PARAMS: 0x0a,
  TOOLSTACK: 0x0b,
  X86_PV_VCPU_MSRS: 0x0c,
  VERIFY: 0x0d,
  CHECKPOINT: 0x0e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0f,
  STATIC_DATA_END: 0x10,
  X86_CPUID_POLICY: 0x11,
  X86_MSR_POLICY: 0x12,
} as const;

/** libxl record types, as in Xen's `xen/migration/libxl.py`. */
export const LIBXL = {
  END: 0,
  LIBXC_CONTEXT: 1,
  EMULATOR_XENSTORE_DATA: 2,
  EMULATOR_CONTEXT: 3,
  CHECKPOINT_END: 4,
  CHECKPOINT_STATE: 5,
} as const;

/** Emulator ids of the libxl emulator sub-header. */
export const EMULATOR = { UNKNOWN: 0, QEMU_TRADITIONAL: 1, QEMU_UPSTREAM: 2 } as const;

/** Page types (bits 60–63 of a PAGE_DATA pfn entry). */
export const PAGE = {
  NOTAB: 0x0,
  L1TAB: 0x1,
  L2TAB: 0x2,
  L3TAB: 0x3,
  L4TAB: 0x4,
  LPINTAB: 0x8,
  BROKEN: 0xd,
  XALLOC: 0xe,
  XTAB: 0xf,
} as const;

/** HVM save record typecodes used by the corpus. */
export const HVM_SAVE = { END: 0, HEADER: 1, CPU: 2, PIC: 3, LAPIC: 5, MTRR: 14 } as const;

/** `HVM_FILE_MAGIC`. */
export const HVM_FILE_MAGIC = 0x54381286;

/** One record, before it is laid out. */
export interface Rec {
  /** Which layer's record type space `type` is in. */
  layer: "libxc" | "libxl";
  /** Record type. */
  type: number;
  /** Body bytes written after the header. */
  body: Uint8Array;
  /** Length written in the header, when it should differ from `body.length`. */
  length?: number;
  /** Padding written after the body, when not the default zeros. */
  padding?: Uint8Array;
  /** A label to find this record's offset in a built stream. */
  tag?: string;
}

/** A libxc record of `type` with `body`. */
export function libxcRec(type: number, body: Uint8Array = new Uint8Array(0)): Rec {
  return { layer: "libxc", type, body };
}

/** A libxl record of `type` with `body`. */
export function libxlRec(type: number, body: Uint8Array = new Uint8Array(0)): Rec {
  return { layer: "libxl", type, body };
}

/** The record header: type and length, little endian. */
export function recordHeaderBytes(r: Rec): Uint8Array {
  return pack("<II", r.type, r.length ?? r.body.length);
}

/** Body plus padding (zeros to 8 unless `padding` is given). */
export function recordContentBytes(r: Rec): Uint8Array {
  const padding = r.padding ?? new Uint8Array(align8(r.body.length) - r.body.length);
  return concat(r.body, padding);
}

/** The whole record as bytes. */
export function recordBytes(r: Rec): Uint8Array {
  return concat(recordHeaderBytes(r), recordContentBytes(r));
}

// ---------------------------------------------------------------- libxc

/** One PAGE_DATA entry. */
export interface PageEntry {
  /** Guest pfn (up to 52 bits). */
  pfn: number;
  /** Page type, default NOTAB. */
  type?: number;
  /** Value of the reserved bits 52–59. */
  reservedBits?: number;
}

/** Whether a page type carries 4096 octets of data (Xen: `type & 7 <= L4TAB`). */
export function pageHasData(type: number): boolean {
  return (type & 0x7) <= PAGE.L4TAB;
}

/** The contents the corpus puts in page `pfn` (recognisable, never all zero). */
export function pageContents(pfn: number): Uint8Array {
  return patterned(4096, pfn);
}

/**
 * PAGE_DATA: count, reserved, the pfn entries, then one page per entry whose
 * type has data.  `count` / `reserved` override the header words; `pages`
 * replaces the page data.
 */
export function pageData(
  entries: readonly PageEntry[],
  opts: { count?: number; reserved?: number; pages?: Uint8Array } = {},
): Rec {
  const pfns = entries.map((e) =>
    pack(
      "<Q",
      BigInt(e.pfn) | (BigInt(e.reservedBits ?? 0) << 52n) | (BigInt(e.type ?? 0) << 60n),
    )
  );
  const pages = opts.pages ??
    concat(...entries.filter((e) => pageHasData(e.type ?? 0)).map((e) => pageContents(e.pfn)));
  return libxcRec(
    LIBXC.PAGE_DATA,
    concat(pack("<II", opts.count ?? entries.length, opts.reserved ?? 0), ...pfns, pages),
  );
}

/** Entries for pfns `from` .. `from + n - 1`, all of page type `type`. */
export function pfnRange(from: number, n: number, type: number = PAGE.NOTAB): PageEntry[] {
  return Array.from({ length: n }, (_, i) => ({ pfn: from + i, type }));
}

/** X86_PV_INFO: guest width (4 or 8), pagetable levels (3 or 4), reserved. */
export function pvInfo(width = 8, levels = 4, res1 = 0, res2 = 0): Rec {
  return libxcRec(LIBXC.X86_PV_INFO, pack("<BBHI", width, levels, res1, res2));
}

/** X86_PV_P2M_FRAMES: start and end pfn, then the frame list. */
export function p2mFrames(start: number, end: number, frames: readonly bigint[] = [1n]): Rec {
  return libxcRec(
    LIBXC.X86_PV_P2M_FRAMES,
    concat(pack("<II", start, end), ...frames.map((f) => pack("<Q", f))),
  );
}

/** The four PV vcpu record kinds and their types. */
export const PV_VCPU = {
  basic: LIBXC.X86_PV_VCPU_BASIC,
  extended: LIBXC.X86_PV_VCPU_EXTENDED,
  xsave: LIBXC.X86_PV_VCPU_XSAVE,
  msrs: LIBXC.X86_PV_VCPU_MSRS,
} as const;

/** An X86_PV_VCPU_* record: vcpu id, reserved, `contextBytes` of context. */
export function pvVcpu(
  kind: keyof typeof PV_VCPU,
  vcpu: number,
  contextBytes: number,
  reserved = 0,
): Rec {
  return libxcRec(
    PV_VCPU[kind],
    concat(pack("<II", vcpu, reserved), patterned(contextBytes, vcpu + 7)),
  );
}

/** SHARED_INFO: one page (or `size` bytes, for invalid variants). */
export function sharedInfo(size = 4096): Rec {
  return libxcRec(LIBXC.SHARED_INFO, patterned(size, 99));
}

/** X86_TSC_INFO: mode, kHz, elapsed ns, incarnation, reserved. */
export function tscInfo(
  mode = 0,
  khz = 2_596_122,
  nsec = 10_167_962_251n,
  incarnation = 1,
  res = 0,
): Rec {
  return libxcRec(LIBXC.X86_TSC_INFO, pack("<IIQII", mode, khz, nsec, incarnation, res));
}

/** One HVM save record. */
export interface HvmSave {
  /** Typecode. */
  typecode: number;
  /** Instance. */
  instance: number;
  /** Data (the descriptor's length is `length ?? data.length`). */
  data: Uint8Array;
  /** Length written in the descriptor, when it should lie. */
  length?: number;
}

/** The HEADER save record (`struct hvm_save_header`): magic, version, changeset, cpuid, gtsc_khz. */
export function hvmSaveHeader(magic = HVM_FILE_MAGIC): HvmSave {
  return {
    typecode: HVM_SAVE.HEADER,
    instance: 0,
    data: pack("<IIQII", magic, 1, 0x1234n, 0x000306c3, 0),
  };
}

/** Lays out HVM save records (no END is added). */
export function hvmBlob(records: readonly HvmSave[]): Uint8Array {
  return concat(
    ...records.map((r) =>
      concat(pack("<HHI", r.typecode, r.instance, r.length ?? r.data.length), r.data)
    ),
  );
}

/** The END save record. */
export const HVM_SAVE_END: HvmSave = {
  typecode: HVM_SAVE.END,
  instance: 0,
  data: new Uint8Array(0),
};

/** A well-formed HVM context blob: HEADER, a CPU record per vcpu, a PIC, END. */
export function hvmContextBlob(vcpus = 1): Uint8Array {
  const cpus = Array.from({ length: vcpus }, (_, i): HvmSave => ({
    typecode: HVM_SAVE.CPU,
    instance: i,
    data: patterned(1024, i),
  }));
  return hvmBlob([
    hvmSaveHeader(),
    ...cpus,
    { typecode: HVM_SAVE.PIC, instance: 0, data: patterned(8, 3) },
    HVM_SAVE_END,
  ]);
}

/** HVM_CONTEXT carrying `blob` (default: one vcpu). */
export function hvmContext(blob: Uint8Array = hvmContextBlob()): Rec {
  return libxcRec(LIBXC.HVM_CONTEXT, blob);
}

/** HVM_PARAMS: count, reserved, then (index, value) pairs. */
export function hvmParams(
  params: readonly (readonly [bigint, bigint])[],
  opts: { count?: number; reserved?: number } = {},
): Rec {
  return libxcRec(
    LIBXC.HVM_PARAMS,
    concat(
      pack("<II", opts.count ?? params.length, opts.reserved ?? 0),
      ...params.map(([i, v]) => pack("<QQ", i, v)),
    ),
  );
}

/** Typical HVM params: store pfn, console pfn, identity pt, ioreq pfns. */
export const TYPICAL_HVM_PARAMS: readonly (readonly [bigint, bigint])[] = [
  [1n, 0xfeffcn], // HVM_PARAM_STORE_PFN
  [5n, 0xfeffbn], // HVM_PARAM_IOREQ_PFN
  [6n, 0xfeffan], // HVM_PARAM_BUFIOREQ_PFN
  [12n, 0xfeff8n], // HVM_PARAM_IDENT_PT
];

/** CPUID policy: `[leaf, subleaf, a, b, c, d]` rows. */
export function cpuidPolicy(leaves: readonly (readonly number[])[]): Rec {
  return libxcRec(LIBXC.X86_CPUID_POLICY, concat(...leaves.map((l) => pack("<6I", ...l))));
}

/** A small valid CPUID policy. */
export const TYPICAL_CPUID: readonly (readonly number[])[] = [
  [0, 0xffffffff, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69],
  [1, 0xffffffff, 0x306c3, 0x800, 0xfffa3203, 0x178bfbff],
  [7, 0, 0, 0x29c6fbf, 0, 0],
];

/** MSR policy: `[index, flags, value]` rows. */
export function msrPolicy(msrs: readonly (readonly [number, number, bigint])[]): Rec {
  return libxcRec(LIBXC.X86_MSR_POLICY, concat(...msrs.map(([i, f, v]) => pack("<IIQ", i, f, v))));
}

/** A small valid MSR policy. */
export const TYPICAL_MSRS: readonly (readonly [number, number, bigint])[] = [
  [0xce, 0, 0x80000000n], // MSR_INTEL_PLATFORM_INFO
  [0x10a, 0, 0n], // MSR_ARCH_CAPABILITIES
];

/** The zero-length signalling records. */
export const libxcEnd = (): Rec => libxcRec(LIBXC.END);
/** VERIFY. */
export const verifyRec = (): Rec => libxcRec(LIBXC.VERIFY);
/** CHECKPOINT. */
export const checkpoint = (): Rec => libxcRec(LIBXC.CHECKPOINT);
/** STATIC_DATA_END. */
export const staticDataEnd = (): Rec => libxcRec(LIBXC.STATIC_DATA_END);
/** TOOLSTACK (deprecated). */
export const toolstack = (): Rec => libxcRec(LIBXC.TOOLSTACK, text("toolstack blob\0"));
/** CHECKPOINT_DIRTY_PFN_LIST: u64 pfns. */
export const dirtyPfnList = (pfns: readonly bigint[]): Rec =>
  libxcRec(LIBXC.CHECKPOINT_DIRTY_PFN_LIST, concat(...pfns.map((p) => pack("<Q", p))));

// ---------------------------------------------------------------- libxl

/** libxl END. */
export const libxlEnd = (): Rec => libxlRec(LIBXL.END);
/** LIBXC_CONTEXT (the libxc stream follows it inline). */
export const libxcContext = (): Rec => libxlRec(LIBXL.LIBXC_CONTEXT);
/** CHECKPOINT_END. */
export const checkpointEnd = (): Rec => libxlRec(LIBXL.CHECKPOINT_END);
/** CHECKPOINT_STATE: control id (padded to 8 by the record). */
export const checkpointState = (controlId: number): Rec =>
  libxlRec(LIBXL.CHECKPOINT_STATE, pack("<I", controlId));

/** EMULATOR_XENSTORE_DATA: emulator id, index, raw `key\0value\0...` data. */
export function emulatorXenstoreData(id: number, index: number, data: Uint8Array): Rec {
  return libxlRec(LIBXL.EMULATOR_XENSTORE_DATA, concat(pack("<II", id, index), data));
}

/** Xenstore pairs as `key\0value\0...`. */
export function xenstorePairs(pairs: readonly (readonly [string, string])[]): Uint8Array {
  return text(pairs.map(([k, v]) => `${k}\0${v}\0`).join(""));
}

/** EMULATOR_CONTEXT: emulator id, index, the emulator's state. */
export function emulatorContext(id: number, index: number, state: Uint8Array): Rec {
  return libxlRec(LIBXL.EMULATOR_CONTEXT, concat(pack("<II", id, index), state));
}

/** Qemu-upstream-like device state of `n` bytes. */
export function qemuState(n = 200): Uint8Array {
  return concat(text("QEVM"), patterned(n - 4, 5));
}

/** Tags a record so its offset can be found in the built stream. */
export function tagged(rec: Rec, tag = "bad"): Rec {
  return { ...rec, tag };
}

/** Overrides fields of a record (lying length, dirty padding, ...). */
export function withRec(rec: Rec, over: Partial<Rec>): Rec {
  return { ...rec, ...over };
}
