/**
 * Writes the v2 stream the converter produces: libxc and libxl records,
 * headers buffered, the PAGE_DATA header and pfn array built in one reused
 * buffer, and long bodies — page data above all — moved from the input
 * straight to the sink: as views of the reader's buffer (never copied), or
 * inside the kernel when input and sink are descriptors.
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import { BufferedWriter } from "../io/buffered_writer.ts";
import { REC_TYPE } from "../libxc/constants.ts";
import { PAGE_DATA_HEADER_SIZE, writePageData } from "../libxc/page_data.ts";
import { paddedLength, RECORD_HEADER_SIZE, writeRecordHeader } from "../record_header.ts";
import type { LegacyBlob } from "./blob.ts";
import { MAX_BATCH } from "./constants.ts";
import { splitLegacyPfn } from "./page_batch.ts";

const ZEROS = new Uint8Array(8);
const NO_PAGES = new Uint8Array(0);

/** Bodies shorter than this are read and buffered with the headers around them. */
const MOVE_THRESHOLD = 64 * 1024;

/**
 * A v2 stream writer over a {@linkcode ByteSink}.
 *
 * @example Write an END record
 * ```ts
 * import { V2Writer } from "./v2_writer.ts";
 * import { memorySink } from "../io/byte_sink.ts";
 * const sink = memorySink();
 * const w = new V2Writer(sink);
 * await w.record(0, new Uint8Array(3));
 * await w.flush();
 * console.assert(sink.bytes().length === 16 && w.bytesWritten === 16);
 * ```
 */
export class V2Writer {
  #sink: ByteSink;
  #out: BufferedWriter;
  #moved = 0;
  #scratch = new Uint8Array(RECORD_HEADER_SIZE + PAGE_DATA_HEADER_SIZE + MAX_BATCH * 8);
  #pfns = new Float64Array(MAX_BATCH);
  #types = new Uint8Array(MAX_BATCH);

  /** Writes to `sink` (through a 1 MiB buffer). */
  constructor(sink: ByteSink) {
    this.#sink = sink;
    this.#out = new BufferedWriter(sink);
  }

  /** Octets accepted so far. */
  get bytesWritten(): number {
    return this.#out.bytesWritten + this.#moved;
  }

  /** Writes octets as they are (headers, passed-through data). */
  write(bytes: Uint8Array): Promise<void> {
    return this.#out.write(bytes);
  }

  /** Writes a record whose body is the concatenation of `parts`, padded to 8 octets. */
  async record(type: number, ...parts: Uint8Array[]): Promise<void> {
    const length = parts.reduce((n, p) => n + p.length, 0);
    await this.#header(type, length);
    for (const p of parts) await this.#out.write(p);
    await this.#pad(length);
  }

  /**
   * Writes a record whose body is `prefix` followed by the octets of `blob`,
   * read piece by piece; `map` may rewrite each piece (it must keep its
   * length in proportion: `mapLength` gives the written length of `n` blob
   * octets).
   */
  async recordFromBlob(
    type: number,
    prefix: Uint8Array,
    blob: LegacyBlob,
    map?: { piece: (p: Uint8Array) => Uint8Array; length: (n: number) => number },
  ): Promise<void> {
    const length = prefix.length + (map ? map.length(blob.remaining) : blob.remaining);
    await this.#header(type, length);
    await this.#out.write(prefix);
    if (map) {
      for await (const piece of blob.pieces()) await this.#out.write(map.piece(piece));
    } else {
      await this.#move(blob);
    }
    await this.#pad(length);
  }

  /** Writes the octets of `blob` as they are (the qemu record of libxc output). */
  async raw(blob: LegacyBlob): Promise<void> {
    await this.#move(blob);
  }

  /**
   * Writes a PAGE_DATA record for legacy pfn words (low 32 bits) and the
   * pages of those with data, which are moved from the input to the sink
   * without a copy in between.
   */
  async pageData(words: Uint32Array, pages: LegacyBlob): Promise<void> {
    const count = words.length;
    const pfns = this.#pfns.subarray(0, count);
    const types = this.#types.subarray(0, count);
    for (let i = 0; i < count; i++) {
      const { pfn, type } = splitLegacyPfn(words[i]);
      pfns[i] = pfn;
      types[i] = type;
    }
    // Header and pfn array into the reused buffer; the length then covers the pages too.
    const head = writePageData(this.#scratch, 0, pfns, types, NO_PAGES);
    writeRecordHeader(
      this.#scratch,
      0,
      REC_TYPE.PAGE_DATA,
      head - RECORD_HEADER_SIZE + pages.length,
    );
    await this.#out.write(this.#scratch.subarray(0, head));
    // Page data is a multiple of 8 octets: no padding.
    await this.#move(pages);
  }

  /** Writes everything buffered to the sink. */
  flush(): Promise<void> {
    return this.#out.flush();
  }

  /** Long bodies go from the input to the sink directly; short ones through the buffer. */
  async #move(blob: LegacyBlob): Promise<void> {
    if (blob.remaining < MOVE_THRESHOLD) {
      for await (const piece of blob.pieces()) await this.#out.write(piece);
      return;
    }
    await this.#out.flush();
    const n = blob.remaining;
    await blob.moveTo(this.#sink);
    this.#moved += n;
  }

  async #header(type: number, length: number): Promise<void> {
    const h = new Uint8Array(RECORD_HEADER_SIZE);
    writeRecordHeader(h, 0, type, length);
    await this.#out.write(h);
  }

  async #pad(length: number): Promise<void> {
    const pad = paddedLength(length) - length;
    if (pad) await this.#out.write(ZEROS.subarray(0, pad));
  }
}
