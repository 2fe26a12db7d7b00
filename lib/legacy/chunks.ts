/**
 * The legacy chunk table: every negative chunk type of the legacy body
 * phase, as plain data — id, name (Xen's `legacy.py`), `XC_SAVE_ID_*` name
 * (`xg_save_restore.h`), payload layout, and what the converter does with it.
 *
 * A chunk starts with a 32-bit signed type.  Positive types are page batches
 * (the type is the page count), zero ends the body, negative types are the
 * chunks below.
 *
 * @module
 */

import { HVM_PARAM } from "./constants.ts";

/**
 * How a chunk's payload is laid out after its 32-bit type:
 *
 * - `none`: no payload.
 * - `vcpu_info`: `int32 max_vcpu_id`, then `uint64 bitmap[max_vcpu_id / 64 + 1]`.
 * - `hvm_param`: `uint32 pad`, `uint64 value` (`"=IQ"`), an HVM parameter.
 * - `tsc_info`: `uint32 mode`, `uint64 nsec`, `uint32 khz`, `uint32 incarnation` (`"=IQII"`).
 * - `sized`: `uint32 size`, then `size` octets.
 * - `unknown`: not documented; the converter cannot skip it.
 */
export type ChunkLayout = "none" | "vcpu_info" | "hvm_param" | "tsc_info" | "sized" | "unknown";

/** One negative chunk type. */
export interface LegacyChunkSpec {
  /** The chunk type (negative; 0 is `end`). */
  readonly id: number;
  /** Name as in `legacy.py` (`CHUNK_<name>`). */
  readonly name: string;
  /** Name in `xg_save_restore.h`. */
  readonly xcSaveId: string;
  /** Payload layout. */
  readonly layout: ChunkLayout;
  /** For `hvm_param` chunks: the `HVM_PARAM_*` index it becomes. */
  readonly hvmParam?: number;
  /** Only meaningful for HVM guests (an HVM_PARAMS entry). */
  readonly hvmOnly: boolean;
  /** False for chunks Xen's converter leaves unimplemented. */
  readonly supported: boolean;
}

function chunk(
  id: number,
  name: string,
  xcSaveId: string,
  layout: ChunkLayout,
  extra: Partial<Pick<LegacyChunkSpec, "hvmParam" | "supported">> = {},
): LegacyChunkSpec {
  return {
    id,
    name,
    xcSaveId,
    layout,
    hvmParam: extra.hvmParam,
    hvmOnly: extra.hvmParam !== undefined,
    supported: extra.supported ?? true,
  };
}

/**
 * Chunk types by name (`CHUNK_<name>` in `legacy.py`).
 *
 * @example
 * ```ts
 * import { CHUNK } from "./chunks.ts";
 * console.assert(CHUNK.toolstack === -18 && CHUNK.end === 0);
 * ```
 */
export const CHUNK = {
  end: 0,
  enable_verify_mode: -1,
  vcpu_info: -2,
  hvm_ident_pt: -3,
  hvm_vm86_tss: -4,
  tmem: -5,
  tmem_extra: -6,
  tsc_info: -7,
  hvm_console_pfn: -8,
  last_checkpoint: -9,
  hvm_acpi_ioports_location: -10,
  hvm_viridian: -11,
  compressed_data: -12,
  enable_compression: -13,
  hvm_generation_id_addr: -14,
  hvm_paging_ring_pfn: -15,
  hvm_monitor_ring_pfn: -16,
  hvm_sharing_ring_pfn: -17,
  toolstack: -18,
  hvm_ioreq_server_pfn: -19,
  hvm_nr_ioreq_server_pages: -20,
} as const;

/**
 * The table, keyed by chunk type.
 *
 * @example Look up a chunk
 * ```ts
 * import { CHUNK, LEGACY_CHUNKS } from "./chunks.ts";
 * const c = LEGACY_CHUNKS[CHUNK.hvm_console_pfn];
 * console.assert(c.xcSaveId === "XC_SAVE_ID_HVM_CONSOLE_PFN" && c.hvmParam === 17);
 * console.assert(!LEGACY_CHUNKS[CHUNK.tmem].supported);
 * ```
 */
export const LEGACY_CHUNKS: Readonly<Record<number, LegacyChunkSpec>> = Object.fromEntries(
  [
    chunk(CHUNK.end, "end", "(end of body)", "none"),
    chunk(CHUNK.enable_verify_mode, "enable_verify_mode", "XC_SAVE_ID_ENABLE_VERIFY_MODE", "none"),
    chunk(CHUNK.vcpu_info, "vcpu_info", "XC_SAVE_ID_VCPU_INFO", "vcpu_info"),
    chunk(CHUNK.hvm_ident_pt, "hvm_ident_pt", "XC_SAVE_ID_HVM_IDENT_PT", "hvm_param", {
      hvmParam: HVM_PARAM.IDENT_PT,
    }),
    chunk(CHUNK.hvm_vm86_tss, "hvm_vm86_tss", "XC_SAVE_ID_HVM_VM86_TSS", "hvm_param", {
      hvmParam: HVM_PARAM.VM86_TSS,
    }),
    chunk(CHUNK.tmem, "tmem", "XC_SAVE_ID_TMEM", "unknown", { supported: false }),
    chunk(CHUNK.tmem_extra, "tmem_extra", "XC_SAVE_ID_TMEM_EXTRA", "unknown", {
      supported: false,
    }),
    chunk(CHUNK.tsc_info, "tsc_info", "XC_SAVE_ID_TSC_INFO", "tsc_info"),
    chunk(CHUNK.hvm_console_pfn, "hvm_console_pfn", "XC_SAVE_ID_HVM_CONSOLE_PFN", "hvm_param", {
      hvmParam: HVM_PARAM.CONSOLE_PFN,
    }),
    chunk(CHUNK.last_checkpoint, "last_checkpoint", "XC_SAVE_ID_LAST_CHECKPOINT", "none"),
    chunk(
      CHUNK.hvm_acpi_ioports_location,
      "hvm_acpi_ioports_location",
      "XC_SAVE_ID_HVM_ACPI_IOPORTS_LOCATION",
      "hvm_param",
      { hvmParam: HVM_PARAM.ACPI_IOPORTS_LOCATION },
    ),
    chunk(CHUNK.hvm_viridian, "hvm_viridian", "XC_SAVE_ID_HVM_VIRIDIAN", "hvm_param", {
      hvmParam: HVM_PARAM.VIRIDIAN,
    }),
    chunk(CHUNK.compressed_data, "compressed_data", "XC_SAVE_ID_COMPRESSED_DATA", "sized", {
      supported: false,
    }),
    chunk(
      CHUNK.enable_compression,
      "enable_compression",
      "XC_SAVE_ID_ENABLE_COMPRESSION",
      "none",
      { supported: false },
    ),
    chunk(
      CHUNK.hvm_generation_id_addr,
      "hvm_generation_id_addr",
      "XC_SAVE_ID_HVM_GENERATION_ID_ADDR",
      "hvm_param",
      { hvmParam: HVM_PARAM.VM_GENERATION_ID_ADDR },
    ),
    chunk(
      CHUNK.hvm_paging_ring_pfn,
      "hvm_paging_ring_pfn",
      "XC_SAVE_ID_HVM_PAGING_RING_PFN",
      "hvm_param",
      { hvmParam: HVM_PARAM.PAGING_RING_PFN },
    ),
    chunk(
      CHUNK.hvm_monitor_ring_pfn,
      "hvm_monitor_ring_pfn",
      "XC_SAVE_ID_HVM_MONITOR_RING_PFN",
      "hvm_param",
      { hvmParam: HVM_PARAM.MONITOR_RING_PFN },
    ),
    chunk(
      CHUNK.hvm_sharing_ring_pfn,
      "hvm_sharing_ring_pfn",
      "XC_SAVE_ID_HVM_SHARING_RING_PFN",
      "hvm_param",
      { hvmParam: HVM_PARAM.SHARING_RING_PFN },
    ),
    chunk(CHUNK.toolstack, "toolstack", "XC_SAVE_ID_TOOLSTACK", "sized"),
    chunk(
      CHUNK.hvm_ioreq_server_pfn,
      "hvm_ioreq_server_pfn",
      "XC_SAVE_ID_HVM_IOREQ_SERVER_PFN",
      "hvm_param",
      { hvmParam: HVM_PARAM.IOREQ_SERVER_PFN },
    ),
    chunk(
      CHUNK.hvm_nr_ioreq_server_pages,
      "hvm_nr_ioreq_server_pages",
      "XC_SAVE_ID_HVM_NR_IOREQ_SERVER_PAGES",
      "hvm_param",
      { hvmParam: HVM_PARAM.NR_IOREQ_SERVER_PAGES },
    ),
  ].map((c) => [c.id, c]),
);

/**
 * Lowest (most negative) chunk type the table knows: anything below is an
 * unrecognised chunk.
 *
 * @example
 * ```ts
 * import { CHUNK_TYPE_MIN, LEGACY_CHUNKS } from "./chunks.ts";
 * console.assert(LEGACY_CHUNKS[CHUNK_TYPE_MIN].name === "hvm_nr_ioreq_server_pages");
 * console.assert(LEGACY_CHUNKS[CHUNK_TYPE_MIN - 1] === undefined);
 * ```
 */
export const CHUNK_TYPE_MIN = CHUNK.hvm_nr_ioreq_server_pages;

/**
 * Names a chunk type for messages: `"-8 (hvm_console_pfn)"`, `"12-page batch"`.
 *
 * @example
 * ```ts
 * import { chunkName } from "./chunks.ts";
 * console.assert(chunkName(-12) === "-12 (compressed_data, XC_SAVE_ID_COMPRESSED_DATA)");
 * console.assert(chunkName(-99) === "-99 (unknown)");
 * ```
 */
export function chunkName(type: number): string {
  if (type > 0) return `${type}-page batch`;
  const c = LEGACY_CHUNKS[type];
  if (!c) return `${type} (unknown)`;
  return type === 0 ? "0 (end)" : `${type} (${c.name}, ${c.xcSaveId})`;
}
