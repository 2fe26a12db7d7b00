/**
 * Constants of the libxl migration stream, named as in Xen's
 * `docs/specs/libxl-migration-stream.pandoc` and
 * `tools/libs/light/libxl_sr_stream_format.h`.
 *
 * @module
 */

/** Header `ident`: "LibxlFmt". */
export const HDR_IDENT = 0x4c6962786c466d74n;
/** The only header version. */
export const HDR_VERSION = 2;
/** Options bit number of the endianness flag. */
export const HDR_OPT_BIT_ENDIAN = 0;
/** Options bit number of the "converted from legacy" flag. */
export const HDR_OPT_BIT_LEGACY = 1;
/** Options value: little endian. */
export const HDR_OPT_LE = 0 << HDR_OPT_BIT_ENDIAN;
/** Options value: big endian. */
export const HDR_OPT_BE = 1 << HDR_OPT_BIT_ENDIAN;
/** Options flag: converted from a legacy stream. */
export const HDR_OPT_LEGACY = 1 << HDR_OPT_BIT_LEGACY;
/** Reserved option bits. */
export const HDR_OPT_RESZ_MASK = 0xfffc;
/** Size of the libxl header. */
export const HDR_SIZE = 16;

/** libxl record types (`REC_TYPE_*`). */
export const LIBXL_REC_TYPE = {
  END: 0x00000000,
  LIBXC_CONTEXT: 0x00000001,
  EMULATOR_XENSTORE_DATA: 0x00000002,
  EMULATOR_CONTEXT: 0x00000003,
  CHECKPOINT_END: 0x00000004,
  CHECKPOINT_STATE: 0x00000005,
} as const;

/** Spec names of libxl record types. */
export const LIBXL_REC_TYPE_NAMES: Readonly<Record<number, keyof typeof LIBXL_REC_TYPE>> = Object
  .fromEntries(
    Object.entries(LIBXL_REC_TYPE).map(([k, v]) => [v, k as keyof typeof LIBXL_REC_TYPE]),
  );

/** Display names, as Xen's `verify-stream-v2` prints them. */
export const LIBXL_REC_TYPE_TITLES: Readonly<Record<number, string>> = {
  [LIBXL_REC_TYPE.END]: "End",
  [LIBXL_REC_TYPE.LIBXC_CONTEXT]: "Libxc context",
  [LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA]: "Emulator xenstore data",
  [LIBXL_REC_TYPE.EMULATOR_CONTEXT]: "Emulator context",
  [LIBXL_REC_TYPE.CHECKPOINT_END]: "Checkpoint end",
  [LIBXL_REC_TYPE.CHECKPOINT_STATE]: "Checkpoint state",
};

/** Name for messages: the spec name, or the hex type when unknown. */
export function libxlRecTypeName(type: number): string {
  return LIBXL_REC_TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(8, "0")}`;
}

/** Emulator ids of the emulator sub-header. */
export const EMULATOR_ID = {
  UNKNOWN: 0x00000000,
  QEMU_TRADITIONAL: 0x00000001,
  QEMU_UPSTREAM: 0x00000002,
} as const;

/** Display names of emulator ids, as Xen's verifier prints them. */
export const EMULATOR_ID_TITLES: Readonly<Record<number, string>> = {
  [EMULATOR_ID.UNKNOWN]: "Unknown",
  [EMULATOR_ID.QEMU_TRADITIONAL]: "Qemu Traditional",
  [EMULATOR_ID.QEMU_UPSTREAM]: "Qemu Upstream",
};

/** Size of the emulator sub-header (`emulator_id`, `index`). */
export const EMULATOR_HEADER_SIZE = 8;

/** CHECKPOINT_STATE `control_id` values (COLO). */
export const CHECKPOINT_STATE_CONTROL = {
  SVM_OUT_OF_SYNC: 0x00000000,
  SVM_SUSPENDED: 0x00000001,
  SVM_READY: 0x00000002,
  SVM_RESUMED: 0x00000003,
} as const;

/** The signature qemu-traditional state starts with in legacy images. */
export const LIBXL_QEMU_SIGNATURE = "DeviceModelRecord0002";
