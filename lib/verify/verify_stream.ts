/**
 * Verifies a whole migration stream the way Xen's `verify-stream-v2` does —
 * same checks, same order, same verbose lines — and optionally the stricter
 * checks of {@linkcode StrictLibxcChecker} and a {@linkcode StreamSummary}.
 *
 * Data flows one way: bytes → {@linkcode StreamParser} events → the
 * per-record verifiers (and, when asked, decoded records → strict checks and
 * summary).
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import type { ByteSource } from "../io/byte_source.ts";
import { REC_TYPE, REC_TYPE_TITLES } from "../libxc/constants.ts";
import { decodeLibxcRecord } from "../libxc/records.ts";
import { LIBXL_REC_TYPE, LIBXL_REC_TYPE_TITLES } from "../libxl/constants.ts";
import { decodeLibxlRecord } from "../libxl/records.ts";
import { allZero } from "../record_header.ts";
import { describeRecord, type StreamFormat, StreamParser } from "../stream_parser.ts";
import { isMessage, MIGRATE_PERMISSION_TO_GO } from "../xl/migrate_protocol.ts";
import { hex } from "./format.ts";
import {
  type Info,
  LIBXC_RECORD_VERIFIERS,
  verifyDomainHeader,
  verifyImageHeader,
} from "./libxc_verifier.ts";
import { LIBXL_RECORD_VERIFIERS, verifyLibxlHeader } from "./libxl_verifier.ts";
import {
  checkXlHeader,
  StrictLibxcChecker,
  StrictLibxlChecker,
  type StrictWarning,
} from "./strict.ts";
import { type StreamSummary, SummaryCollector } from "./summary.ts";

/**
 * Nothing may follow the final END, except — in a capture of what `xl
 * migrate` sent — its permission-to-go message.
 */
async function checkTrailer(parser: StreamParser, format: StreamFormat): Promise<void> {
  const r = parser.reader;
  if (await r.atEnd()) return;
  const at = r.offset;
  if (format === "xl") {
    const limit = MIGRATE_PERMISSION_TO_GO.length;
    const tail: number[] = [];
    while (tail.length <= limit && !(await r.atEnd())) {
      tail.push(...await r.readSome(limit + 1 - tail.length));
    }
    if (isMessage(new Uint8Array(tail), MIGRATE_PERMISSION_TO_GO)) return;
  }
  throw new StreamError("data after the final END record", at, "end of stream");
}

/** Options for {@linkcode verifyStream}. */
export interface VerifyOptions {
  /** Outermost layer: `libxc` (default), `libxl` or `xl`. */
  format?: StreamFormat;
  /** Receives each verbose line (Xen's `-v` output). */
  info?: Info;
  /** Also run the strict checks. */
  strict?: boolean;
  /** Also build a {@linkcode StreamSummary}. */
  summary?: boolean;
  /** Largest single structure accepted, in bytes. */
  maxBytes?: number;
}

/** What {@linkcode verifyStream} found. */
export interface VerifyResult {
  /** 0 valid, 1 stream or record error, 2 internal error (Xen's exit codes). */
  exitCode: 0 | 1 | 2;
  /** The fault, when not valid. */
  error?: Error;
  /** Strict-mode warnings (spec deviations real Xen produces). */
  warnings: StrictWarning[];
  /** The summary, when asked for. */
  summary?: StreamSummary;
}

/**
 * Verifies the stream from `source`.  Never throws for bad input: the
 * outcome is in the result.
 *
 * @example
 * ```ts
 * import { verifyStream } from "./verify_stream.ts";
 * import { bytesSource } from "../io/byte_source.ts";
 * const lines: string[] = [];
 * const r = await verifyStream(bytesSource(new Uint8Array(10)), { info: (l) => lines.push(l) });
 * console.assert(r.exitCode === 1 && r.error?.message === "Stream truncated");
 * ```
 */
export async function verifyStream(
  source: ByteSource,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const format = options.format ?? "libxc";
  const info = options.info ?? (() => {});
  const warnings: StrictWarning[] = [];
  const collector = options.summary ? new SummaryCollector(format) : undefined;
  const parser = new StreamParser(source, { format, maxBytes: options.maxBytes });
  const strictLibxl = options.strict ? new StrictLibxlChecker() : undefined;
  let strictLibxc: StrictLibxcChecker | undefined;
  let version = 0;
  let squashed = 0;
  let checkpointed = false;
  try {
    for await (const ev of parser.events()) {
      switch (ev.kind) {
        case "xl-header":
          if (options.strict) checkXlHeader(ev.header, ev.optionalData, ev.offset, warnings);
          info("Processed xl header");
          break;
        case "libxl-header":
          verifyLibxlHeader(ev.header, info, ev.offset);
          break;
        case "image-header":
          verifyImageHeader(ev.header, info, ev.offset);
          version = ev.header.version;
          squashed = 0;
          break;
        case "domain-header":
          verifyDomainHeader(ev.header, info, ev.offset);
          collector?.headers(version, ev.header.type, ev.header.xenMajor, ev.header.xenMinor);
          if (options.strict) {
            strictLibxc = new StrictLibxcChecker(version, ev.header.type, warnings);
          }
          break;
        case "record-header":
          if (ev.layer === "libxc") {
            if (REC_TYPE_TITLES[ev.type] === undefined) {
              throw new StreamError(
                `Unrecognised record type 0x${hex(ev.type)}`,
                ev.offset,
                `libxc record ${ev.index}`,
              );
            }
          } else {
            if (LIBXL_REC_TYPE_TITLES[ev.type] === undefined) {
              throw new StreamError(
                `Unrecognised record type ${hex(ev.type)}`,
                ev.offset,
                `libxl record ${ev.index}`,
              );
            }
            // Xen prints libxl records before reading their bodies.
            info(`Libxl Record: ${LIBXL_REC_TYPE_TITLES[ev.type]}, length ${ev.length}`);
          }
          break;
        case "record": {
          const where = describeRecord(ev.layer, ev.index, ev.type);
          if (ev.layer === "libxc") {
            if (ev.type !== REC_TYPE.PAGE_DATA) {
              if (squashed > 0) info(`Squashed ${squashed} Page Data records together`);
              squashed = 0;
              info(`Libxc Record: ${REC_TYPE_TITLES[ev.type]}, length ${ev.length}`);
            } else {
              squashed++;
            }
          }
          if (!allZero(ev.padding)) {
            throw new StreamError("Padding containing non0 bytes found", ev.offset, where);
          }
          const state = { info, offset: ev.offset, where, version };
          if (ev.layer === "libxc") {
            LIBXC_RECORD_VERIFIERS[ev.type](state, ev.body);
            if (ev.type === REC_TYPE.CHECKPOINT) checkpointed = true;
            if (strictLibxc || collector) {
              const rec = decodeLibxcRecord(ev.type, ev.body, ev.offset);
              strictLibxc?.record(rec, state);
              collector?.libxc(rec);
            }
          } else {
            LIBXL_RECORD_VERIFIERS[ev.type](state, ev.body);
            if (ev.type === LIBXL_REC_TYPE.CHECKPOINT_END) checkpointed = true;
            strictLibxl?.record(
              decodeLibxlRecord(ev.type, ev.body, ev.offset),
              state,
              checkpointed,
            );
            collector?.libxl(ev.type);
          }
          break;
        }
      }
    }
    if (options.strict) await checkTrailer(parser, format);
  } catch (e) {
    parser.reader.close();
    if (e instanceof StreamError) return { exitCode: 1, error: e, warnings };
    return { exitCode: 2, error: e instanceof Error ? e : new Error(String(e)), warnings };
  }
  const bytes = parser.reader.offset;
  parser.reader.close();
  if (collector) collector.summary.warnings = warnings;
  return { exitCode: 0, warnings, summary: collector?.finish(bytes) };
}
