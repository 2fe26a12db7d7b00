/**
 * Sends guest pages as PAGE_DATA records, as Xen's `write_batch` does:
 * batches of up to 1024 pfns, page types from `xc_get_pfn_type_batch`, one
 * bulk foreign map per batch for the pfns that carry data, XTAB / BROKEN /
 * XALLOC pfns sent without data.  The pfn array is written from a reused
 * buffer and the pages straight from the mapping — a bulk map is one
 * contiguous region — so page contents are never copied in user space.
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import { MAX_BATCH_SIZE, PAGE_SIZE, pageTypeHasData, REC_TYPE } from "../libxc/constants.ts";
import { PAGE_DATA_HEADER_SIZE } from "../libxc/page_data.ts";
import { RECORD_HEADER_SIZE, writeRecordHeader } from "../record_header.ts";
import type { Domain } from "../xen/domain.ts";
import type { ForeignMemory } from "../xen/foreign_memory.ts";
import { PROT_READ } from "../xen/constants.ts";
import { XenError } from "../xen/errors.ts";

/**
 * Longest stretch of sending, in ms, between two turns of the event loop.
 * A file sink completes every write at once, so without a turn now and then
 * a whole save runs as one chain of microtasks and SIGINT / SIGTERM
 * listeners (the guest-restoring cleanup) and timers never run until it
 * ends (found by the signal tests of issue 7).
 */
const YIELD_EVERY_MS = 50;

/** Counts of what one send produced. */
export interface SendCounts {
  /** pfn entries written (all types). */
  pfns: number;
  /** Pages with data written. */
  pages: number;
  /** Bytes written. */
  bytes: number;
  /** PAGE_DATA records written. */
  records: number;
}

/** Writes PAGE_DATA records for one domain. */
export class PageSender {
  #domain: Domain;
  #memory: ForeignMemory;
  #sink: ByteSink;
  #batch = new Float64Array(MAX_BATCH_SIZE);
  #count = 0;
  #head = new Uint8Array(RECORD_HEADER_SIZE + PAGE_DATA_HEADER_SIZE + MAX_BATCH_SIZE * 8);
  /** The PAGE_DATA header and pfn array as u32 words (from after the record header). */
  #headWords = new Uint32Array(
    this.#head.buffer,
    RECORD_HEADER_SIZE,
    (PAGE_DATA_HEADER_SIZE + MAX_BATCH_SIZE * 8) / 4,
  );
  #dataPfns = new Float64Array(MAX_BATCH_SIZE);
  #counts: SendCounts = { pfns: 0, pages: 0, bytes: 0, records: 0 };
  #lastYield = performance.now();
  /** Called after each record (progress reporting). */
  onRecord?: (counts: SendCounts) => void;

  /** Sends pages of `domain`, mapped through `memory`, into `sink`. */
  constructor(domain: Domain, memory: ForeignMemory, sink: ByteSink) {
    this.#domain = domain;
    this.#memory = memory;
    this.#sink = sink;
  }

  /** Totals so far. */
  get counts(): Readonly<SendCounts> {
    return this.#counts;
  }

  /** Queues one pfn; writes a record when the batch is full. */
  async add(pfn: number): Promise<void> {
    this.#batch[this.#count++] = pfn;
    if (this.#count === MAX_BATCH_SIZE) await this.flush();
  }

  /** Sends every pfn in `[0, count)`, a full batch at a time. */
  async addRange(count: number): Promise<void> {
    await this.flush();
    for (let first = 0; first < count; first += MAX_BATCH_SIZE) {
      const n = Math.min(MAX_BATCH_SIZE, count - first);
      for (let i = 0; i < n; i++) this.#batch[i] = first + i;
      this.#count = n;
      await this.flush();
    }
  }

  /**
   * Sends every pfn whose bit is set in `bitmap` (bit i = pfn i), below
   * `limit`; returns how many.  Scans 32 bits at a time and awaits only when
   * a batch is full.
   */
  async addBitmap(bitmap: Uint8Array, limit: number): Promise<number> {
    let n = 0;
    const whole = bitmap.byteLength >>> 2;
    const words = new Uint32Array(bitmap.buffer, bitmap.byteOffset, whole);
    const word = (w: number) =>
      w < whole ? words[w] : (bitmap[w * 4] | (bitmap[w * 4 + 1] << 8) | (bitmap[w * 4 + 2] << 16) |
        (bitmap[w * 4 + 3] << 24)) >>> 0;
    const total = Math.ceil(bitmap.length / 4);
    for (let w = 0; w < total; w++) {
      let bits = word(w);
      while (bits !== 0) {
        const low = bits & -bits;
        bits = (bits ^ low) >>> 0;
        const pfn = w * 32 + 31 - Math.clz32(low);
        if (pfn >= limit) break;
        this.#batch[this.#count++] = pfn;
        n++;
        if (this.#count === MAX_BATCH_SIZE) await this.flush();
      }
    }
    await this.flush();
    return n;
  }

  /** Writes the pending batch as one PAGE_DATA record. */
  async flush(): Promise<void> {
    const count = this.#count;
    if (count === 0) return;
    this.#count = 0;
    const pfns = this.#batch.subarray(0, count);
    const types = this.#domain.pfnTypes(pfns);
    let withData = 0;
    for (let i = 0; i < count; i++) {
      if (pageTypeHasData(types[i] >>> 28)) this.#dataPfns[withData++] = pfns[i];
    }
    const headLength = RECORD_HEADER_SIZE + PAGE_DATA_HEADER_SIZE + count * 8;
    const head = this.#head;
    writeRecordHeader(
      head,
      0,
      REC_TYPE.PAGE_DATA,
      PAGE_DATA_HEADER_SIZE + count * 8 + withData * PAGE_SIZE,
    );
    // Little-endian words, as the stream is (x86 only): typed-array stores
    // rather than DataView calls, 2048 of them per batch.
    const w = this.#headWords;
    w[0] = count;
    w[1] = 0;
    for (let i = 0, at = 2; i < count; i++, at += 2) {
      const pfn = pfns[i];
      w[at] = pfn % 0x100000000;
      w[at + 1] = ((pfn / 0x100000000) & 0xfffff) | (types[i] & 0xf0000000);
    }
    await this.#sink.write(head.subarray(0, headLength));
    if (withData > 0) {
      const mapping = this.#memory.map(
        this.#domain.domid,
        this.#dataPfns.subarray(0, withData),
        PROT_READ,
      );
      try {
        if (mapping.failed) {
          const i = mapping.errors.findIndex((e) => e !== 0);
          throw new XenError("xenforeignmemory_map", mapping.errors[i], {
            subject: `domid ${this.#domain.domid}, pfn 0x${mapping.pfn(i).toString(16)}`,
            reason: "mapping of a page with data failed",
          });
        }
        await this.#sink.write(mapping.all());
      } finally {
        mapping.release();
      }
    }
    const c = this.#counts;
    c.pfns += count;
    c.pages += withData;
    c.bytes += headLength + withData * PAGE_SIZE;
    c.records++;
    this.onRecord?.(c);
    if (performance.now() - this.#lastYield > YIELD_EVERY_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      this.#lastYield = performance.now();
    }
  }
}
