/**
 * Constants of the legacy (pre-Xen 4.6) save format, named as in Xen's
 * `tools/python/xen/migration/legacy.py` and `public.py`, and the
 * `xg_save_restore.h` header the legacy format was defined by.  The chunk
 * table itself lives in `chunks.ts`.
 *
 * The legacy format is in the saving toolstack's native word size: an
 * `unsigned long` is 4 octets from a 32-bit toolstack and 8 from a 64-bit
 * one, little endian (x86 only).
 *
 * @module
 */

/** Toolstack word size in bits: the size of the legacy `unsigned long`. */
export type ToolstackWidth = 32 | 64;

/** Guest type of a legacy image. */
export type LegacyGuestType = "pv" | "hvm";

/**
 * Most pages in one page batch (`MAX_BATCH` / `MAX_BATCH_SIZE`).
 *
 * @example
 * ```ts
 * import { MAX_BATCH } from "./constants.ts";
 * console.assert(MAX_BATCH === 1024);
 * ```
 */
export const MAX_BATCH = 1024;

/**
 * Highest vcpu id a legacy image may describe (`MAX_VCPU_ID`).
 *
 * @example
 * ```ts
 * import { MAX_VCPU_ID } from "./constants.ts";
 * console.assert(MAX_VCPU_ID === 4095);
 * ```
 */
export const MAX_VCPU_ID = 4095;

/**
 * Size of a guest page.
 *
 * @example
 * ```ts
 * import { LEGACY_PAGE_SIZE } from "./constants.ts";
 * console.assert(LEGACY_PAGE_SIZE === 4096);
 * ```
 */
export const LEGACY_PAGE_SIZE = 4096;

/**
 * `XEN_DOMCTL_PFINFO_LTAB_SHIFT`: page type bits sit in bits 28–31 of a pfn word.
 *
 * @example
 * ```ts
 * import { XEN_DOMCTL_PFINFO_LTAB_SHIFT } from "./constants.ts";
 * console.assert((0x90000005 >>> XEN_DOMCTL_PFINFO_LTAB_SHIFT) === 0x9);
 * ```
 */
export const XEN_DOMCTL_PFINFO_LTAB_SHIFT = 28;

/**
 * `XEN_DOMCTL_PFINFO_LTAB_MASK`: the page type nibble of a pfn word.
 *
 * @example
 * ```ts
 * import { XEN_DOMCTL_PFINFO_LTAB_MASK } from "./constants.ts";
 * console.assert(((0x90000005 & XEN_DOMCTL_PFINFO_LTAB_MASK) >>> 0) === 0x90000000);
 * ```
 */
export { XEN_DOMCTL_PFINFO_LTAB_MASK } from "../xen/constants.ts";

/**
 * The pfn bits of a legacy pfn word (bits 0–27).
 *
 * @example
 * ```ts
 * import { LEGACY_PFN_MASK } from "./constants.ts";
 * console.assert((0x90000005 & LEGACY_PFN_MASK) === 5);
 * ```
 */
export const LEGACY_PFN_MASK = 0x0fffffff;

/**
 * `XEN_DOMCTL_PFINFO_XTAB` with pfn 0: the filler `xc_domain_save()` writes
 * for pfns it could not map.  Xen's converter drops exactly this word.
 *
 * @example
 * ```ts
 * import { XTAB_FILLER } from "./constants.ts";
 * console.assert(XTAB_FILLER >>> 28 === 0xf && (XTAB_FILLER & 0x0fffffff) === 0);
 * ```
 */
export const XTAB_FILLER = 0xf0000000;

/**
 * Page types below `XEN_DOMCTL_PFINFO_BROKEN` (0xd) carry a page of data in
 * the batch — Xen's converter counts pages with `(x & 0xf0000000) < 0xd0000000`.
 *
 * @example
 * ```ts
 * import { PFINFO_FIRST_WITHOUT_DATA } from "./constants.ts";
 * console.assert(0xc < PFINFO_FIRST_WITHOUT_DATA && 0xd >= PFINFO_FIRST_WITHOUT_DATA);
 * ```
 */
export const PFINFO_FIRST_WITHOUT_DATA = 0xd;

/**
 * Identifiers of the PV extended-info blocks (`char[4]`).
 *
 * @example
 * ```ts
 * import { EXT_INFO_BLOCK } from "./constants.ts";
 * console.assert(EXT_INFO_BLOCK.VCPU === "vcpu");
 * ```
 */
export const EXT_INFO_BLOCK = {
  /** `vcpu_guest_context` size: tells guest width and pagetable levels. */
  VCPU: "vcpu",
  /** Extended vcpu context present in the tail (size 0). */
  EXTV: "extv",
  /** Size of the per-vcpu xsave record in the tail (`uint32_t` data). */
  XCNT: "xcnt",
} as const;

/**
 * The extended-info signature: `~0UL` in the toolstack's word size.
 *
 * @example
 * ```ts
 * import { EXT_INFO_SIGNATURE } from "./constants.ts";
 * console.assert(EXT_INFO_SIGNATURE[32] === 0xffffffffn);
 * ```
 */
export const EXT_INFO_SIGNATURE = {
  32: 0xffffffffn,
  64: 0xffffffffffffffffn,
} as const;

/**
 * `vcpu` block size → guest width (octets) and pagetable levels: the size
 * of `vcpu_guest_context_x86_64_t` (0x1430) or `_x86_32_t` (0xaf0), which is
 * how Xen's converter tells the guest's bitness.
 *
 * @example
 * ```ts
 * import { VCPU_CONTEXT_SIZES } from "./constants.ts";
 * console.assert(VCPU_CONTEXT_SIZES[0x1430].width === 8 && VCPU_CONTEXT_SIZES[0xaf0].levels === 3);
 * ```
 */
export const VCPU_CONTEXT_SIZES: Readonly<Record<number, { width: 4 | 8; levels: 3 | 4 }>> = {
  0x1430: { width: 8, levels: 4 },
  0xaf0: { width: 4, levels: 3 },
};

/**
 * Size of the extended vcpu context in the PV tail (`extv`).
 *
 * @example
 * ```ts
 * import { VCPU_EXTENDED_CONTEXT_SIZE } from "./constants.ts";
 * console.assert(VCPU_EXTENDED_CONTEXT_SIZE === 128);
 * ```
 */
export const VCPU_EXTENDED_CONTEXT_SIZE = 128;

/**
 * Size of the xsave header in the PV tail: `uint64_t mask`, `uint64_t size`.
 *
 * @example
 * ```ts
 * import { VCPU_XSAVE_HEADER_SIZE } from "./constants.ts";
 * console.assert(VCPU_XSAVE_HEADER_SIZE === 16);
 * ```
 */
export const VCPU_XSAVE_HEADER_SIZE = 16;

/**
 * Size of the shared info page at the end of the PV tail.
 *
 * @example
 * ```ts
 * import { SHARED_INFO_SIZE } from "./constants.ts";
 * console.assert(SHARED_INFO_SIZE === 4096);
 * ```
 */
export const SHARED_INFO_SIZE = 4096;

/**
 * HVM parameter indices used by the legacy converter (`xen/public/hvm/params.h`).
 *
 * @example
 * ```ts
 * import { HVM_PARAM } from "./constants.ts";
 * console.assert(HVM_PARAM.STORE_PFN === 1 && HVM_PARAM.IOREQ_PFN === 5);
 * ```
 */
export const HVM_PARAM = {
  STORE_PFN: 1,
  IOREQ_PFN: 5,
  BUFIOREQ_PFN: 6,
  VIRIDIAN: 9,
  IDENT_PT: 12,
  VM86_TSS: 15,
  CONSOLE_PFN: 17,
  ACPI_IOPORTS_LOCATION: 19,
  PAGING_RING_PFN: 27,
  MONITOR_RING_PFN: 28,
  SHARING_RING_PFN: 29,
  IOREQ_SERVER_PFN: 32,
  NR_IOREQ_SERVER_PAGES: 33,
  VM_GENERATION_ID_ADDR: 34,
} as const;

/**
 * Length of a qemu record signature in the HVM tail.
 *
 * @example
 * ```ts
 * import { QEMU_SIGNATURE_SIZE } from "./constants.ts";
 * console.assert(QEMU_SIGNATURE_SIZE === "DeviceModelRecord0002".length);
 * ```
 */
export const QEMU_SIGNATURE_SIZE = 21;

/**
 * Signatures of the qemu record that ends an HVM image.  Only
 * `DeviceModelRecord0002` (a `uint32_t` length, then the data) is
 * converted, as by Xen's script.
 *
 * @example
 * ```ts
 * import { QEMU_SIGNATURE } from "./constants.ts";
 * console.assert(QEMU_SIGNATURE.DEVICE_MODEL_RECORD_0002.length === 21);
 * ```
 */
export const QEMU_SIGNATURE = {
  /** `uint32_t` length, then that many octets of qemu state. */
  DEVICE_MODEL_RECORD_0002: "DeviceModelRecord0002",
  /** qemu state until end of file. */
  QEMU_DEVICE_MODEL_RECORD: "QemuDeviceModelRecord",
  /** Remus: the same layout as `DeviceModelRecord0002`. */
  REMUS_DEVICE_MODEL_STATE: "RemusDeviceModelState",
} as const;

/**
 * Version of the libxl toolstack chunk layout the converter understands.
 *
 * @example
 * ```ts
 * import { LIBXL_TOOLSTACK_VERSION } from "./constants.ts";
 * console.assert(LIBXL_TOOLSTACK_VERSION === 1);
 * ```
 */
export const LIBXL_TOOLSTACK_VERSION = 1;

/**
 * Size of a `libxl__physmap_info` header in the toolstack chunk:
 * `phys_offset`, `start_addr`, `size` (`uint64_t`), `namelen` (`uint32_t`).
 *
 * @example
 * ```ts
 * import { LIBXL_PHYSMAP_HEADER_SIZE } from "./constants.ts";
 * console.assert(LIBXL_PHYSMAP_HEADER_SIZE === 3 * 8 + 4);
 * ```
 */
export const LIBXL_PHYSMAP_HEADER_SIZE = 28;

/**
 * The 4 octets of structure padding a 64-bit toolstack leaked onto the end
 * of every physmap name (see `legacy.py`).
 *
 * @example
 * ```ts
 * import { LIBXL_PHYSMAP_NAME_PADDING_64 } from "./constants.ts";
 * console.assert(LIBXL_PHYSMAP_NAME_PADDING_64 === 4);
 * ```
 */
export const LIBXL_PHYSMAP_NAME_PADDING_64 = 4;

/**
 * The converter's version, written as `xen_minor` of the domain header (with
 * `xen_major` 0, which marks a converted stream): Xen's `__version__`.
 *
 * @example
 * ```ts
 * import { CONVERTER_VERSION } from "./constants.ts";
 * console.assert(CONVERTER_VERSION === 1);
 * ```
 */
export const CONVERTER_VERSION = 1;
