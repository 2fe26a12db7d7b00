/**
 * What {@linkcode LegacyReader} reports: the structures of a legacy image in
 * stream order, each with the byte offset it starts at.  Views and blobs are
 * valid until the next event is requested.
 *
 * @module
 */

import type { LegacyBlob } from "./blob.ts";
import type { LegacyChunkSpec } from "./chunks.ts";
import type { ExtInfoBlock } from "./extended_info.ts";

/** `p2m_size`, the first word of every image. */
export interface P2mSizeEvent {
  /** Event kind. */
  kind: "p2m-size";
  /** Offset in the input. */
  offset: number;
  /** Number of entries in the guest's p2m. */
  p2mSize: bigint;
}

/** The start of the PV extended-info block. */
export interface ExtendedInfoEvent {
  /** Event kind. */
  kind: "extended-info";
  /** Offset in the input. */
  offset: number;
  /** Octets of blocks announced. */
  totalLength: number;
}

/** One PV extended-info block. */
export interface ExtInfoBlockEvent {
  /** Event kind. */
  kind: "ext-info-block";
  /** Offset in the input. */
  offset: number;
  /** The block. */
  block: ExtInfoBlock;
}

/** The end of the PV extended-info block. */
export interface ExtendedInfoEndEvent {
  /** Event kind. */
  kind: "extended-info-end";
  /** Offset in the input. */
  offset: number;
}

/** The PV p2m frame list. */
export interface P2mFramesEvent {
  /** Event kind. */
  kind: "p2m-frames";
  /** Offset in the input. */
  offset: number;
  /** `p2m_size` again, for the record's end pfn. */
  p2mSize: bigint;
  /** p2m entries per frame (4096 / guest width). */
  framesPerPage: number;
  /** Number of frames. */
  count: number;
  /** The frames as toolstack words (`width` / 8 octets each). */
  frames: LegacyBlob;
}

/** A page batch (positive chunk type). */
export interface PageBatchEvent {
  /** Event kind. */
  kind: "page-batch";
  /** Offset of the chunk type word. */
  offset: number;
  /** Page count as in the stream (before dropping fillers). */
  count: number;
  /** Low 32 bits of the pfn words kept, in order (a view). */
  pfns: Uint32Array;
  /** `XTAB` filler words dropped. */
  dropped: number;
  /**
   * The pages of the kept words with data, 4096 octets each: read them, or
   * move them to an output (inside the kernel where the I/O allows).
   */
  pages: LegacyBlob;
}

/** A chunk without payload: `end`, `enable_verify_mode`, `last_checkpoint`. */
export interface MarkerChunkEvent {
  /** Event kind. */
  kind: "chunk";
  /** Offset of the chunk type word. */
  offset: number;
  /** The chunk. */
  chunk: LegacyChunkSpec;
}

/** `vcpu_info`. */
export interface VcpuInfoEvent {
  /** Event kind. */
  kind: "vcpu-info";
  /** Offset of the chunk type word. */
  offset: number;
  /** The chunk. */
  chunk: LegacyChunkSpec;
  /** Highest vcpu id. */
  maxVcpuId: number;
  /** Online vcpus in this chunk's bitmap. */
  online: number[];
  /** Online vcpus of all `vcpu_info` chunks so far: whose contexts the PV tail holds. */
  onlineAll: readonly number[];
}

/** A chunk that sets an HVM parameter. */
export interface HvmParamEvent {
  /** Event kind. */
  kind: "hvm-param";
  /** Offset of the chunk type word. */
  offset: number;
  /** The chunk. */
  chunk: LegacyChunkSpec;
  /** `HVM_PARAM_*` index. */
  index: number;
  /** Value. */
  value: bigint;
}

/** `tsc_info`. */
export interface TscInfoEvent {
  /** Event kind. */
  kind: "tsc-info";
  /** Offset of the chunk type word. */
  offset: number;
  /** The chunk. */
  chunk: LegacyChunkSpec;
  /** `XEN_TSC_MODE_*`. */
  mode: number;
  /** Elapsed nanoseconds. */
  nsec: bigint;
  /** TSC frequency, kHz. */
  khz: number;
  /** TSC incarnation. */
  incarnation: number;
}

/** `toolstack`: opaque toolstack data (libxl's physmap). */
export interface ToolstackEvent {
  /** Event kind. */
  kind: "toolstack";
  /** Offset of the chunk type word. */
  offset: number;
  /** The chunk. */
  chunk: LegacyChunkSpec;
  /** Data size (0: no data). */
  size: number;
  /** The data; skipped if not consumed. */
  data: LegacyBlob;
}

/** The PV tail's unmapped pfn list (discarded: "bogus"). */
export interface UnmappedPfnsEvent {
  /** Event kind. */
  kind: "unmapped-pfns";
  /** Offset in the input. */
  offset: number;
  /** Number of pfns skipped. */
  count: number;
}

/** One part of one vcpu's context in the PV tail. */
export interface VcpuContextEvent {
  /** Event kind. */
  kind: "vcpu-context";
  /** Offset in the input. */
  offset: number;
  /** Which part. */
  part: "basic" | "extended" | "xsave";
  /** vcpu id. */
  vcpuId: number;
  /** xsave only: the feature mask that precedes the area. */
  xsaveMask?: bigint;
  /** The context (for xsave: the area without its mask and size). */
  data: LegacyBlob;
}

/** The shared info page ending the PV tail. */
export interface SharedInfoEvent {
  /** Event kind. */
  kind: "shared-info";
  /** Offset in the input. */
  offset: number;
  /** The page (a view). */
  data: Uint8Array;
}

/** The HVM tail's "magic" pfns. */
export interface HvmMagicPfnsEvent {
  /** Event kind. */
  kind: "hvm-magic-pfns";
  /** Offset in the input. */
  offset: number;
  /** `HVM_PARAM_IOREQ_PFN`. */
  ioreq: bigint;
  /** `HVM_PARAM_BUFIOREQ_PFN`. */
  bufioreq: bigint;
  /** `HVM_PARAM_STORE_PFN`. */
  store: bigint;
}

/** The HVM context blob. */
export interface HvmContextEvent {
  /** Event kind. */
  kind: "hvm-context";
  /** Offset of its length word. */
  offset: number;
  /** The blob. */
  data: LegacyBlob;
}

/** The end of the libxc part of the image (after the PV or HVM tail). */
export interface ImageEndEvent {
  /** Event kind. */
  kind: "image-end";
  /** Offset in the input. */
  offset: number;
}

/** The qemu record after an HVM image (`DeviceModelRecord0002`). */
export interface QemuRecordEvent {
  /** Event kind. */
  kind: "qemu-record";
  /** Offset of the signature. */
  offset: number;
  /** The signature. */
  signature: string;
  /** Signature and length word as in the stream (25 octets, a copy). */
  header: Uint8Array;
  /** The qemu state. */
  data: LegacyBlob;
}

/** Any event. */
export type LegacyEvent =
  | P2mSizeEvent
  | ExtendedInfoEvent
  | ExtInfoBlockEvent
  | ExtendedInfoEndEvent
  | P2mFramesEvent
  | PageBatchEvent
  | MarkerChunkEvent
  | VcpuInfoEvent
  | HvmParamEvent
  | TscInfoEvent
  | ToolstackEvent
  | UnmappedPfnsEvent
  | VcpuContextEvent
  | SharedInfoEvent
  | HvmMagicPfnsEvent
  | HvmContextEvent
  | ImageEndEvent
  | QemuRecordEvent;
