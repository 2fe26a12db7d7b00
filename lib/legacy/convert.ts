/**
 * Converts a legacy save image to a v2 stream — libxc, or libxl wrapping
 * libxc — byte for byte as Xen 4.17's `convert-legacy-stream` does, while
 * streaming: memory stays bounded whatever the image size, on files and
 * pipes alike.
 *
 * Beyond Xen's script:
 *
 * - toolstack width and guest type are detected when not given
 *   (see `detect.ts`);
 * - an xl header is passed through (Xen's `-x` always fails under Python 3),
 *   with STREAMv2 set for libxl output;
 * - a page batch of nothing but `XTAB` fillers writes no PAGE_DATA record
 *   (Xen writes one with count 0, which fails verification);
 * - physmap names that are not UTF-8 are converted (Xen's script crashes
 *   printing them);
 * - every failure is one {@linkcode StreamError} (bad input) or
 *   {@linkcode LegacyUnsupportedError} (content Xen's script does not
 *   implement either) naming what and where.
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import type { ByteSource } from "../io/byte_source.ts";
import { StreamReader } from "../io/stream_reader.ts";
import { DHDR_TYPE, REC_TYPE } from "../libxc/constants.ts";
import { encodeDomainHeader } from "../libxc/domain_header.ts";
import { encodeImageHeader } from "../libxc/image_header.ts";
import { EMULATOR_ID, HDR_OPT_LE, HDR_OPT_LEGACY, LIBXL_REC_TYPE } from "../libxl/constants.ts";
import { encodeLibxlHeader } from "../libxl/header.ts";
import { CHUNK } from "./chunks.ts";
import {
  CONVERTER_VERSION,
  HVM_PARAM,
  type LegacyGuestType,
  type ToolstackWidth,
} from "./constants.ts";
import { DETECT_WINDOW, detectLegacyLayout, rejectNonLegacy } from "./detect.ts";
import type { LegacyEvent } from "./events.ts";
import { FdInput } from "./fd_input.ts";
import type { LegacyInput, LookaheadInput } from "./input.ts";
import { PeekableSource } from "./peekable_source.ts";
import { LegacyReader } from "./reader.ts";
import { decodeLibxlToolstack, printableBytes } from "./toolstack.ts";
import { V2Writer } from "./v2_writer.ts";
import { passXlHeader } from "./xl_header.ts";

/** Output formats: a bare libxc stream, or a libxl stream around it. */
export type LegacyOutputFormat = "libxc" | "libxl";

/** Options for {@linkcode convertLegacyStream}, mirroring the script's flags. */
export interface ConvertLegacyOptions {
  /** `-f`: output format (default `libxc`). */
  format?: LegacyOutputFormat;
  /** `-w`: toolstack width; detected when absent. */
  width?: ToolstackWidth;
  /** `-g`: guest type; detected when absent. */
  guestType?: LegacyGuestType;
  /** `-x`: an xl header precedes the image. */
  xl?: boolean;
  /** `--skip-qemu`: in libxc mode, do not read the qemu record after an HVM image. */
  skipQemu?: boolean;
  /** Receives verbose lines (`-v`), worded as Xen's script words them. */
  info?: (line: string) => void;
  /** Largest structure read whole (libxl toolstack data), in bytes (an `FdInput` has its own). */
  maxBytes?: number;
}

/** What a conversion did. */
export interface ConvertLegacyResult {
  /** Toolstack width used. */
  width: ToolstackWidth;
  /** Guest type used. */
  guestType: LegacyGuestType;
  /** Why the width was detected as it was (absent when given). */
  widthReason?: string;
  /** Why the guest type was detected as it was (absent when given). */
  guestReason?: string;
  /** Octets read from the input. */
  bytesRead: number;
  /** Octets written. */
  bytesWritten: number;
  /** PAGE_DATA records written. */
  pageDataRecords: number;
  /** Pages of data written. */
  pages: number;
  /** `XTAB` filler words dropped. */
  droppedFillers: number;
  /** Batches of nothing but fillers, which wrote no record. */
  emptyBatches: number;
}

/** Xen's verbose wording for each HVM parameter chunk. */
const HVM_PARAM_LINES: Readonly<Record<number, (v: bigint) => string>> = {
  [HVM_PARAM.IDENT_PT]: (v) => `  EPT Identity Pagetable: 0x${v.toString(16)}`,
  [HVM_PARAM.VM86_TSS]: (v) => `  VM86 TSS: 0x${v.toString(16)}`,
  [HVM_PARAM.CONSOLE_PFN]: (v) => `  Console pfn: 0x${v.toString(16)}`,
  [HVM_PARAM.ACPI_IOPORTS_LOCATION]: (v) => `  ACPI ioport location: 0x${v.toString(16)}`,
  [HVM_PARAM.VIRIDIAN]: (v) => `  Viridian location: 0x${v.toString(16)}`,
  [HVM_PARAM.VM_GENERATION_ID_ADDR]: (v) => `  Generation ID Address: 0x${v.toString(16)}`,
  [HVM_PARAM.PAGING_RING_PFN]: (v) => `  Paging ring pfn: 0x${v.toString(16)}`,
  [HVM_PARAM.MONITOR_RING_PFN]: (v) => `  Monitor ring pfn: 0x${v.toString(16)}`,
  [HVM_PARAM.SHARING_RING_PFN]: (v) => `  Sharing ring pfn: 0x${v.toString(16)}`,
  [HVM_PARAM.IOREQ_SERVER_PFN]: (v) => `  IOREQ server pfn: 0x${v.toString(16)}`,
  [HVM_PARAM.NR_IOREQ_SERVER_PAGES]: (v) => `  IOREQ server pages: ${v}`,
};

function u32s(...values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
}

/** An HVM_PARAMS body: count, reserved, then index / value pairs. */
function hvmParamsBody(params: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(8 + params.length * 8);
  const v = new DataView(b.buffer);
  v.setUint32(0, params.length / 2, true);
  params.forEach((x, i) => v.setBigUint64(8 + i * 8, x, true));
  return b;
}

/** Widens 32-bit words to 64-bit ones (p2m frames of a 32-bit toolstack). */
function widen(piece: Uint8Array): Uint8Array {
  const n = piece.length / 4;
  const out = new Uint8Array(n * 8);
  const src = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
  const dst = new DataView(out.buffer);
  for (let i = 0; i < n; i++) dst.setUint32(i * 8, src.getUint32(i * 4, true), true);
  return out;
}

/**
 * Converts the legacy image read from `source` and writes the v2 stream to
 * `sink` (flushed, not closed: committing or closing it is the caller's).
 * With an `FdInput` source and an `FdOutput` sink, page data moves from one
 * descriptor to the other inside the kernel.
 * Throws {@linkcode StreamError} for bad input, {@linkcode LegacyUnsupportedError}
 * for content that cannot be converted; output written by then is partial.
 *
 * @example Convert a minimal 64-bit HVM image to libxc
 * ```ts
 * import { convertLegacyStream } from "./convert.ts";
 * import { bytesSource } from "../io/byte_source.ts";
 * import { memorySink } from "../io/byte_sink.ts";
 * const image = new Uint8Array(8 + 4 + 24 + 4 + 8);
 * new DataView(image.buffer).setUint32(36, 8, true); // an 8-byte HVM context
 * const out = memorySink();
 * const r = await convertLegacyStream(bytesSource(image), out, {
 *   width: 64, guestType: "hvm", skipQemu: true,
 * });
 * // image + domain headers, STATIC_DATA_END, HVM_PARAMS, HVM_CONTEXT, END
 * console.assert(r.bytesWritten === 24 + 16 + 8 + (8 + 8 + 48) + (8 + 8) + 8);
 * console.assert(out.bytes().length === r.bytesWritten);
 * ```
 */
export async function convertLegacyStream(
  source: ByteSource,
  sink: ByteSink,
  options: ConvertLegacyOptions = {},
): Promise<ConvertLegacyResult> {
  const info = options.info ?? (() => {});
  const libxl = (options.format ?? "libxc") === "libxl";
  const src: LookaheadInput = source instanceof FdInput ? source : new PeekableSource(source);
  const out = new V2Writer(sink);

  if (options.xl) {
    await passXlHeader(src, libxl, (b) => out.write(b));
    info("Processed xl header");
  }

  const start = src.offset;
  let width = options.width;
  let guestType = options.guestType;
  let widthReason: string | undefined;
  let guestReason: string | undefined;
  if (width === undefined || guestType === undefined) {
    const window = await src.peek(DETECT_WINDOW);
    if (!options.xl) rejectNonLegacy(window, start);
    const d = detectLegacyLayout(window, { width, guestType }, start);
    ({ width, guestType, widthReason, guestReason } = d);
    if (widthReason) info(`Detected ${width}-bit toolstack: ${widthReason}`);
    if (guestReason) info(`Detected ${guestType.toUpperCase()} guest: ${guestReason}`);
  } else if (!options.xl) {
    rejectNonLegacy(await src.peek(32), start);
  }

  const pv = guestType === "pv";
  const reader: LegacyInput = src instanceof FdInput
    ? src
    : new StreamReader(src as PeekableSource, {
      startOffset: src.offset,
      maxBytes: options.maxBytes,
    });
  const legacy = new LegacyReader(reader, {
    width,
    guestType,
    qemu: libxl || !options.skipQemu,
  });
  const result: ConvertLegacyResult = {
    width,
    guestType,
    widthReason,
    guestReason,
    bytesRead: 0,
    bytesWritten: 0,
    pageDataRecords: 0,
    pages: 0,
    droppedFillers: 0,
    emptyBatches: 0,
  };
  const hvmParams: bigint[] = [];
  const xenstore: Uint8Array[] = [];

  const handle = async (ev: LegacyEvent): Promise<void> => {
    switch (ev.kind) {
      case "p2m-size":
        info(`P2M Size: 0x${ev.p2mSize.toString(16)}`);
        if (libxl) {
          await out.write(encodeLibxlHeader({ options: HDR_OPT_LE | HDR_OPT_LEGACY }));
          await out.record(LIBXL_REC_TYPE.LIBXC_CONTEXT);
        }
        await out.write(encodeImageHeader({ version: 3 }));
        await out.write(encodeDomainHeader({
          type: pv ? DHDR_TYPE.X86_PV : DHDR_TYPE.X86_HVM,
          xenMajor: 0,
          xenMinor: CONVERTER_VERSION,
        }));
        if (!pv) await out.record(REC_TYPE.STATIC_DATA_END);
        return;
      case "extended-info":
        info(`Extended Info: length 0x${ev.totalLength.toString(16)}`);
        return;
      case "ext-info-block": {
        const b = ev.block;
        info(`  Record type: ${b.id}, size 0x${b.size.toString(16)}`);
        if (b.guestWidth !== undefined) {
          info(`    ${b.guestWidth * 8}bit domain, ${b.ptLevels} levels`);
          const body = new Uint8Array(8);
          body[0] = b.guestWidth;
          body[1] = b.ptLevels!;
          await out.record(REC_TYPE.X86_PV_INFO, body);
        } else if (b.xsaveLen !== undefined) {
          info(`xcnt sz 0x${b.xsaveLen.toString(16)}`);
        }
        return;
      }
      case "extended-info-end":
        await out.record(REC_TYPE.STATIC_DATA_END);
        return;
      case "p2m-frames": {
        info(`P2M frames: fpp ${ev.framesPerPage}, p2m_frame_len ${ev.count}`);
        const head = u32s(0, Number(ev.p2mSize - 1n));
        await out.recordFromBlob(
          REC_TYPE.X86_PV_P2M_FRAMES,
          head,
          ev.frames,
          width === 32 ? { piece: widen, length: (n) => n * 2 } : undefined,
        );
        return;
      }
      case "page-batch":
        result.droppedFillers += ev.dropped;
        if (ev.pfns.length === 0) {
          // Xen writes a count-0 PAGE_DATA record here, which no verifier accepts.
          result.emptyBatches++;
          info(`  Batch of ${ev.count} XTAB fillers dropped: no PAGE_DATA record`);
          return;
        }
        await out.pageData(ev.pfns, ev.pages);
        result.pageDataRecords++;
        result.pages += ev.pages.length / 4096;
        return;
      case "chunk":
        info(`Chunk: ${ev.chunk.id} - ${ev.chunk.name}`);
        if (ev.chunk.id === CHUNK.end) {
          info("  End");
          if (hvmParams.length) await out.record(REC_TYPE.HVM_PARAMS, hvmParamsBody(hvmParams));
        } else if (ev.chunk.id === CHUNK.enable_verify_mode) {
          info("This is a debug stream");
        } else if (ev.chunk.id === CHUNK.last_checkpoint) {
          info("  Last Checkpoint");
        }
        return;
      case "vcpu-info":
        info(`Chunk: ${ev.chunk.id} - ${ev.chunk.name}`);
        info(`  Vcpu info: max_id ${ev.maxVcpuId}, online map [${ev.onlineAll.join(", ")}]`);
        return;
      case "hvm-param":
        info(`Chunk: ${ev.chunk.id} - ${ev.chunk.name}`);
        info(HVM_PARAM_LINES[ev.index](ev.value));
        hvmParams.push(BigInt(ev.index), ev.value);
        return;
      case "tsc-info": {
        info(`Chunk: ${ev.chunk.id} - ${ev.chunk.name}`);
        info(
          `  X86_TSC_INFO: mode ${ev.mode}, ${ev.nsec} ns, ${ev.khz} khz, ${ev.incarnation} incarn`,
        );
        const body = new Uint8Array(24);
        const v = new DataView(body.buffer);
        v.setUint32(0, ev.mode, true);
        v.setUint32(4, ev.khz, true);
        v.setBigUint64(8, ev.nsec, true);
        v.setUint32(16, ev.incarnation, true);
        await out.record(REC_TYPE.X86_TSC_INFO, body);
        return;
      }
      case "toolstack": {
        info(`Chunk: ${ev.chunk.id} - ${ev.chunk.name}`);
        if (ev.size === 0) return;
        info(`  Toolstack Data: sz 0x${ev.size.toString(16)}`);
        if (!libxl) {
          info("    Discarding");
          return;
        }
        const ts = decodeLibxlToolstack(await ev.data.bytes(), width, ev.data.offset);
        info(`    Version ${ts.version}, count ${ts.count}`);
        for (const p of ts.pairs) {
          info(`    '${printableBytes(p.key)}' = '${printableBytes(p.value)}'`);
        }
        xenstore.push(ts.xenstoreData);
        return;
      }
      case "unmapped-pfns":
        if (ev.count) info(`discarding ${ev.count} bogus 'unmapped pfns'`);
        return;
      case "vcpu-context": {
        const type = {
          basic: REC_TYPE.X86_PV_VCPU_BASIC,
          extended: REC_TYPE.X86_PV_VCPU_EXTENDED,
          xsave: REC_TYPE.X86_PV_VCPU_XSAVE,
        }[ev.part];
        info(
          ev.part === "xsave"
            ? `Got VCPU xsave (mask 0x${ev.xsaveMask!.toString(16)}, size 0x${
              ev.data.length.toString(16)
            })`
            : `Got VCPU ${ev.part === "basic" ? "basic" : "extd"} (size 0x${
              ev.data.length.toString(16)
            })`,
        );
        await out.recordFromBlob(type, u32s(ev.vcpuId, 0), ev.data);
        return;
      }
      case "shared-info":
        info("Got shinfo");
        await out.record(REC_TYPE.SHARED_INFO, ev.data);
        return;
      case "hvm-magic-pfns":
        info(
          `Magic pfns: 0x${ev.ioreq.toString(16)} 0x${ev.bufioreq.toString(16)} 0x${
            ev.store.toString(16)
          }`,
        );
        await out.record(
          REC_TYPE.HVM_PARAMS,
          hvmParamsBody([
            BigInt(HVM_PARAM.IOREQ_PFN),
            ev.ioreq,
            BigInt(HVM_PARAM.BUFIOREQ_PFN),
            ev.bufioreq,
            BigInt(HVM_PARAM.STORE_PFN),
            ev.store,
          ]),
        );
        return;
      case "hvm-context":
        info(`Got HVM Context (0x${ev.data.length.toString(16)} bytes)`);
        await out.recordFromBlob(REC_TYPE.HVM_CONTEXT, new Uint8Array(0), ev.data);
        return;
      case "image-end":
        await out.record(REC_TYPE.END);
        if (libxl && xenstore.length) {
          await out.record(
            LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA,
            u32s(EMULATOR_ID.UNKNOWN, 0),
            ...xenstore,
          );
        }
        return;
      case "qemu-record":
        info(`Qemu signature: ${ev.signature}`);
        if (libxl) {
          await out.recordFromBlob(
            LIBXL_REC_TYPE.EMULATOR_CONTEXT,
            u32s(EMULATOR_ID.UNKNOWN, 0),
            ev.data,
          );
        } else {
          // libxc output: the record follows the stream as it was.
          await out.write(ev.header);
          await out.raw(ev.data);
        }
        return;
    }
  };

  for await (const ev of legacy.events()) await handle(ev);
  if (libxl) await out.record(LIBXL_REC_TYPE.END);
  await out.flush();
  result.bytesRead = reader.offset;
  result.bytesWritten = out.bytesWritten;
  return result;
}
