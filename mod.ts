/**
 * xenmig: Xen domain migration streams — libxc v2/v3, libxl v2, the xl
 * save-file header and the legacy format — with verification, conversion
 * and a migration engine.
 *
 * This module only re-exports; each concept lives in its own file under
 * `lib/`.
 *
 * @example Verify a stream file
 * ```ts ignore
 * import { openInput, verifyStream } from "./mod.ts";
 * const result = await verifyStream(await openInput("domain.save"), { format: "xl", info: console.log });
 * Deno.exit(result.exitCode);
 * ```
 *
 * @module
 */

export * from "./lib/errors.ts";
export * from "./lib/record_header.ts";
export * from "./lib/stream_parser.ts";
export * from "./lib/io/byte_source.ts";
export * from "./lib/io/byte_sink.ts";
export * from "./lib/io/stream_reader.ts";
export * from "./lib/io/buffered_writer.ts";
export * from "./lib/io/atomic_file.ts";
export * from "./lib/libxc/constants.ts";
export * from "./lib/libxc/image_header.ts";
export * from "./lib/libxc/domain_header.ts";
export * from "./lib/libxc/page_data.ts";
export * from "./lib/libxc/records.ts";
export * from "./lib/libxc/hvm_context.ts";
export {
  CHECKPOINT_STATE_CONTROL,
  EMULATOR_HEADER_SIZE,
  EMULATOR_ID,
  EMULATOR_ID_TITLES,
  HDR_IDENT as LIBXL_HDR_IDENT,
  HDR_OPT_BE as LIBXL_HDR_OPT_BE,
  HDR_OPT_BIT_ENDIAN as LIBXL_HDR_OPT_BIT_ENDIAN,
  HDR_OPT_BIT_LEGACY as LIBXL_HDR_OPT_BIT_LEGACY,
  HDR_OPT_LE as LIBXL_HDR_OPT_LE,
  HDR_OPT_LEGACY as LIBXL_HDR_OPT_LEGACY,
  HDR_OPT_RESZ_MASK as LIBXL_HDR_OPT_RESZ_MASK,
  HDR_SIZE as LIBXL_HDR_SIZE,
  HDR_VERSION as LIBXL_HDR_VERSION,
  LIBXL_QEMU_SIGNATURE,
  LIBXL_REC_TYPE,
  LIBXL_REC_TYPE_NAMES,
  LIBXL_REC_TYPE_TITLES,
  libxlRecTypeName,
} from "./lib/libxl/constants.ts";
export * from "./lib/libxl/header.ts";
export * from "./lib/libxl/records.ts";
export * from "./lib/xl/header.ts";
export * from "./lib/xl/migrate_protocol.ts";
export * from "./lib/verify/verify_stream.ts";
export type { StreamSummary } from "./lib/verify/summary.ts";
export type { StrictWarning } from "./lib/verify/strict.ts";
export * from "./lib/legacy/convert.ts";
export * from "./lib/legacy/detect.ts";
export * from "./lib/legacy/errors.ts";
export * from "./lib/legacy/reader.ts";
export * from "./lib/legacy/chunks.ts";
export * from "./lib/legacy/constants.ts";
export type * from "./lib/legacy/events.ts";
export * from "./lib/detect_format.ts";
export * from "./lib/interrupts.ts";
export * from "./lib/io/rate_limited_sink.ts";
export * from "./lib/engine/policy.ts";
export * from "./lib/engine/save_session.ts";
export * from "./lib/engine/restore.ts";
export * from "./lib/engine/handshake.ts";
export * from "./lib/engine/guest_suspend.ts";
export * from "./lib/engine/migrate.ts";
export * from "./lib/engine/transport.ts";
export * from "./lib/engine/compare_memory.ts";
export * from "./lib/engine/domain_config.ts";
export * from "./lib/engine/stream_layers.ts";
export * from "./lib/xen/mod.ts";
