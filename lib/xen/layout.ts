/**
 * The C ABI the bindings assume, as data: the size of every struct crossed
 * over FFI and the offset and type of every field read or written.
 *
 * One table serves three consumers, so they cannot drift apart: the
 * bindings encode/decode through it, `native/build.ts` generates the
 * simulator's C structs from it, and `tests/ffi/abi_probe_test.ts` compiles
 * it against Debian's libxen-dev 4.17 headers to prove every number.
 *
 * Field keys are C member designators (nested members use `a.b`), so the
 * probe can feed them to `offsetof` verbatim.
 *
 * @module
 */

/** Scalar kinds a field can have; `bytes` is a fixed-size byte array. */
export type FieldType = "u8" | "u16" | "u32" | "i32" | "u64" | "ptr" | "usize" | "bytes";

/** Where one struct member lives. */
export interface FieldLayout {
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Scalar kind. */
  readonly type: FieldType;
  /** Length in bytes, for `bytes` fields only. */
  readonly length?: number;
}

/** The layout of one C struct. */
export interface StructLayout {
  /** The C type as the headers spell it. */
  readonly cType: string;
  /** `sizeof` the struct. */
  readonly size: number;
  /** Members the bindings touch; may be a subset when `partial`. */
  readonly fields: Readonly<Record<string, FieldLayout>>;
  /** True when only the size matters (records the simulator emits whole). */
  readonly sizeOnly?: boolean;
}

const u8 = (offset: number): FieldLayout => ({ offset, type: "u8" });
const u16 = (offset: number): FieldLayout => ({ offset, type: "u16" });
const u32 = (offset: number): FieldLayout => ({ offset, type: "u32" });
const i32 = (offset: number): FieldLayout => ({ offset, type: "i32" });
const u64 = (offset: number): FieldLayout => ({ offset, type: "u64" });
const ptr = (offset: number): FieldLayout => ({ offset, type: "ptr" });
const bytes = (offset: number, length: number): FieldLayout => ({ offset, type: "bytes", length });
const sized = (cType: string, size: number): StructLayout => ({
  cType,
  size,
  fields: {},
  sizeOnly: true,
});

/**
 * Struct layouts of Xen 4.17 on x86_64 (`XEN_DOMCTL_INTERFACE_VERSION`
 * 0x15), keyed by a short name.
 *
 * @example Read the size of the domain-info record
 * ```ts
 * import { LAYOUTS } from "./layout.ts";
 * console.log(LAYOUTS.xen_domctl_getdomaininfo.size); // 112
 * ```
 */
export const LAYOUTS = {
  xen_domctl_getdomaininfo: {
    cType: "struct xen_domctl_getdomaininfo",
    size: 112,
    fields: {
      domain: u16(0),
      flags: u32(4),
      tot_pages: u64(8),
      max_pages: u64(16),
      outstanding_pages: u64(24),
      shr_pages: u64(32),
      paged_pages: u64(40),
      shared_info_frame: u64(48),
      cpu_time: u64(56),
      nr_online_vcpus: u32(64),
      max_vcpu_id: u32(68),
      ssidref: u32(72),
      handle: bytes(76, 16),
      cpupool: u32(92),
      gpaddr_bits: u8(96),
      "arch_config.emulation_flags": u32(104),
      "arch_config.misc_flags": u32(108),
    },
  },
  xen_domctl_createdomain: {
    cType: "struct xen_domctl_createdomain",
    size: 64,
    fields: {
      ssidref: u32(0),
      handle: bytes(4, 16),
      flags: u32(20),
      iommu_opts: u32(24),
      max_vcpus: u32(28),
      max_evtchn_port: u32(32),
      max_grant_frames: i32(36),
      max_maptrack_frames: i32(40),
      grant_opts: u32(44),
      vmtrace_size: u32(48),
      cpupool_id: u32(52),
      "arch.emulation_flags": u32(56),
      "arch.misc_flags": u32(60),
    },
  },
  xen_domctl_getvcpuinfo: {
    cType: "struct xen_domctl_getvcpuinfo",
    size: 24,
    fields: {
      vcpu: u32(0),
      online: u8(4),
      blocked: u8(5),
      running: u8(6),
      cpu_time: u64(8),
      cpu: u32(16),
    },
  },
  xen_domctl_shadow_op_stats: {
    cType: "struct xen_domctl_shadow_op_stats",
    size: 8,
    fields: { fault_count: u32(0), dirty_count: u32(4) },
  },
  xc_hypercall_buffer: {
    cType: "struct xc_hypercall_buffer",
    size: 40,
    fields: {
      hbuf: ptr(0),
      param_shadow: ptr(8),
      dir: i32(16),
      ubuf: ptr(24),
      sz: { offset: 32, type: "usize" },
    },
  },
  xc_error: {
    cType: "struct xc_error",
    size: 1028,
    fields: { code: i32(0), message: bytes(4, 1024) },
  },
  xen_cpuid_leaf: {
    cType: "struct xen_cpuid_leaf",
    size: 24,
    fields: { leaf: u32(0), subleaf: u32(4), a: u32(8), b: u32(12), c: u32(16), d: u32(20) },
  },
  xen_msr_entry: {
    cType: "struct xen_msr_entry",
    size: 16,
    fields: { idx: u32(0), flags: u32(4), val: u64(8) },
  },
  hvm_save_descriptor: {
    cType: "struct hvm_save_descriptor",
    size: 8,
    fields: { typecode: u16(0), instance: u16(2), length: u32(4) },
  },
  hvm_save_header: {
    cType: "struct hvm_save_header",
    size: 24,
    fields: {
      magic: u32(0),
      version: u32(4),
      changeset: u64(8),
      cpuid: u32(16),
      gtsc_khz: u32(20),
    },
  },
  // Records the simulator emits whole; only their lengths matter.
  hvm_hw_cpu: sized("struct hvm_hw_cpu", 1032),
  hvm_hw_lapic: sized("struct hvm_hw_lapic", 24),
  hvm_hw_lapic_regs: sized("struct hvm_hw_lapic_regs", 1024),
  hvm_hw_mtrr: sized("struct hvm_hw_mtrr", 240),
  hvm_tsc_adjust: sized("struct hvm_tsc_adjust", 8),
  hvm_hw_pit: sized("struct hvm_hw_pit", 56),
  hvm_hw_rtc: sized("struct hvm_hw_rtc", 24),
} as const satisfies Record<string, StructLayout>;

/** Names of the structs in {@linkcode LAYOUTS}. */
export type StructName = keyof typeof LAYOUTS;

/**
 * Sizes of the scalar typedefs the signatures use (`xen_pfn_t` is
 * `unsigned long` on x86_64, hence 8).
 *
 * @example
 * ```ts
 * import { SCALAR_SIZES } from "./layout.ts";
 * console.log(SCALAR_SIZES.xen_pfn_t); // 8
 * ```
 */
export const SCALAR_SIZES = {
  xen_pfn_t: 8,
  domid_t: 2,
  xen_domain_handle_t: 16,
} as const satisfies Record<string, number>;
