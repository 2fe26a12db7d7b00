/**
 * Splits a migration stream into its structures, in stream order, for any of
 * the three layers: a bare libxc stream, a libxl stream (whose LIBXC_CONTEXT
 * record is followed inline by a whole libxc stream), or an `xl` save file
 * (xl header, then libxl or — without STREAMv2 — libxc).
 *
 * The parser judges nothing: it reports each header and record (with its byte
 * offset) and lets the consumer decide.  Before reading a record's body it
 * reports the record header on its own, so a consumer can reject an unknown
 * type, or print a line, before the body is read — which is exactly the order
 * in which Xen's verifier reports faults.  Record bodies are views valid
 * until the next event.
 *
 * @module
 */

import { StreamError } from "./errors.ts";
import { DHDR_SIZE, IHDR_SIZE, REC_TYPE, recTypeName } from "./libxc/constants.ts";
import { decodeDomainHeader, type DomainHeader } from "./libxc/domain_header.ts";
import { decodeImageHeader, type ImageHeader } from "./libxc/image_header.ts";
import { HDR_SIZE, LIBXL_REC_TYPE, libxlRecTypeName } from "./libxl/constants.ts";
import { decodeLibxlHeader, type LibxlHeader } from "./libxl/header.ts";
import { decodeRecordHeader, paddedLength, RECORD_HEADER_SIZE } from "./record_header.ts";
import type { ByteSource } from "./io/byte_source.ts";
import { StreamReader, type StreamReaderOptions } from "./io/stream_reader.ts";
import {
  decodeXlHeader,
  isXlMagic,
  XL_HEADER_SIZE,
  XL_MANDATORY_FLAG_STREAMV2,
  type XlHeader,
} from "./xl/header.ts";

/** The outermost layer of a stream. */
export type StreamFormat = "libxc" | "libxl" | "xl";

/** Which layer a record belongs to. */
export type Layer = "libxc" | "libxl";

/** The xl header and its optional data. */
export interface XlHeaderEvent {
  /** Event kind. */
  kind: "xl-header";
  /** Offset of the header. */
  offset: number;
  /** The fixed part. */
  header: XlHeader;
  /** The optional data (domain config), a copy. */
  optionalData: Uint8Array;
  /** The layer that follows: libxl with STREAMv2, else libxc. */
  next: Layer;
}

/** The libxl stream header. */
export interface LibxlHeaderEvent {
  /** Event kind. */
  kind: "libxl-header";
  /** Offset of the header. */
  offset: number;
  /** The header. */
  header: LibxlHeader;
}

/** The libxc image header. */
export interface ImageHeaderEvent {
  /** Event kind. */
  kind: "image-header";
  /** Offset of the header. */
  offset: number;
  /** The header. */
  header: ImageHeader;
}

/** The libxc domain header. */
export interface DomainHeaderEvent {
  /** Event kind. */
  kind: "domain-header";
  /** Offset of the header. */
  offset: number;
  /** The header. */
  header: DomainHeader;
}

/** A record header, reported before its body is read. */
export interface RecordHeaderEvent {
  /** Event kind. */
  kind: "record-header";
  /** libxc or libxl. */
  layer: Layer;
  /** Offset of the record header. */
  offset: number;
  /** Index of the record within its layer, from 0. */
  index: number;
  /** Record type. */
  type: number;
  /** Body length (without padding). */
  length: number;
}

/** A whole record. */
export interface RecordEvent extends Omit<RecordHeaderEvent, "kind"> {
  /** Event kind. */
  kind: "record";
  /** The body: a view valid until the next event. */
  body: Uint8Array;
  /** The padding after the body (should be zeros). */
  padding: Uint8Array;
}

/** Any parser event. */
export type StreamEvent =
  | XlHeaderEvent
  | LibxlHeaderEvent
  | ImageHeaderEvent
  | DomainHeaderEvent
  | RecordHeaderEvent
  | RecordEvent;

/** Names the structure at an event, for error messages. */
export function describeRecord(layer: Layer, index: number, type: number): string {
  const name = layer === "libxc" ? recTypeName(type) : libxlRecTypeName(type);
  return `${layer} record ${index} (${name})`;
}

/** Options for {@linkcode StreamParser}. */
export interface StreamParserOptions extends StreamReaderOptions {
  /** Outermost layer (default `"libxc"`). */
  format?: StreamFormat;
}

/**
 * Parses a stream into {@linkcode StreamEvent}s.
 *
 * @example Count the records of a bare libxc stream
 * ```ts
 * import { StreamParser } from "./stream_parser.ts";
 * import { bytesSource } from "./io/byte_source.ts";
 * import { encodeImageHeader } from "./libxc/image_header.ts";
 * import { encodeDomainHeader } from "./libxc/domain_header.ts";
 * import { encodeLibxcRecord } from "./libxc/records.ts";
 * const bytes = new Uint8Array([
 *   ...encodeImageHeader({}), ...encodeDomainHeader({}), ...encodeLibxcRecord({ type: 0 }),
 * ]);
 * let records = 0;
 * for await (const ev of new StreamParser(bytesSource(bytes)).events()) {
 *   if (ev.kind === "record") records++;
 * }
 * console.assert(records === 1);
 * ```
 */
export class StreamParser {
  #reader: StreamReader;
  #format: StreamFormat;

  /** Parses `source` as `options.format`. */
  constructor(source: ByteSource | StreamReader, options: StreamParserOptions = {}) {
    this.#reader = source instanceof StreamReader ? source : new StreamReader(source, options);
    this.#format = options.format ?? "libxc";
  }

  /** The underlying reader (for the offset, or to check for trailing bytes). */
  get reader(): StreamReader {
    return this.#reader;
  }

  /** The events of the whole stream, up to and including its final END. */
  async *events(): AsyncGenerator<StreamEvent, void, undefined> {
    let layer: Layer = this.#format === "libxl" ? "libxl" : "libxc";
    if (this.#format === "xl") {
      const ev = await this.#xlHeader();
      yield ev;
      layer = ev.next;
    }
    if (layer === "libxl") yield* this.#libxl();
    else yield* this.#libxc();
  }

  async #xlHeader(): Promise<XlHeaderEvent> {
    const r = this.#reader;
    const offset = r.offset;
    const fixed = new Uint8Array(XL_HEADER_SIZE);
    fixed.set(await r.readExact(32, "xl header"));
    if (!isXlMagic(fixed.subarray(0, 32))) {
      throw new StreamError("No xl header", offset, "xl header");
    }
    fixed.set(await r.readExact(XL_HEADER_SIZE - 32, "xl header"), 32);
    const header = decodeXlHeader(fixed);
    const optionalData = (await r.readExact(header.optionalDataLen, "xl optional data")).slice();
    const next: Layer = header.mandatoryFlags & XL_MANDATORY_FLAG_STREAMV2 ? "libxl" : "libxc";
    return { kind: "xl-header", offset, header, optionalData, next };
  }

  async *#libxl(): AsyncGenerator<StreamEvent, void, undefined> {
    const r = this.#reader;
    const offset = r.offset;
    const header = decodeLibxlHeader(await r.readExact(HDR_SIZE, "libxl header"));
    yield { kind: "libxl-header", offset, header };
    for (let index = 0;; index++) {
      const rec = yield* this.#record("libxl", index);
      if (rec === LIBXL_REC_TYPE.LIBXC_CONTEXT) yield* this.#libxc();
      if (rec === LIBXL_REC_TYPE.END) return;
    }
  }

  async *#libxc(): AsyncGenerator<StreamEvent, void, undefined> {
    const r = this.#reader;
    let offset = r.offset;
    const image = decodeImageHeader(await r.readExact(IHDR_SIZE, "libxc image header"));
    yield { kind: "image-header", offset, header: image };
    offset = r.offset;
    const domain = decodeDomainHeader(await r.readExact(DHDR_SIZE, "libxc domain header"));
    yield { kind: "domain-header", offset, header: domain };
    for (let index = 0;; index++) {
      if ((yield* this.#record("libxc", index)) === REC_TYPE.END) return;
    }
  }

  /** Reads one record, reporting its header first; returns its type. */
  async *#record(layer: Layer, index: number): AsyncGenerator<StreamEvent, number, undefined> {
    const r = this.#reader;
    const offset = r.offset;
    const { type, length } = decodeRecordHeader(
      await r.readExact(RECORD_HEADER_SIZE, `${layer} record ${index} header`),
    );
    yield { kind: "record-header", layer, offset, index, type, length };
    const padded = paddedLength(length);
    const content = await r.readExact(padded, describeRecord(layer, index, type));
    yield {
      kind: "record",
      layer,
      offset,
      index,
      type,
      length,
      body: content.subarray(0, length),
      padding: content.subarray(length, padded),
    };
    return type;
  }
}
