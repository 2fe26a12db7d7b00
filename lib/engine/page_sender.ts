/**
 * Sends guest pages as PAGE_DATA records, as Xen's `write_batch` does:
 * batches of up to 1024 pfns, page types from `xc_get_pfn_type_batch`, one
 * bulk foreign map per batch for the pfns that carry data, XTAB / BROKEN /
 * XALLOC pfns sent without data.  The pfn array is written from a reused
 * buffer and the pages straight from the mapping — a bulk map is one
 * contiguous region — so page contents are never copied in user space.
 *
 * One record is written behind: while batch N is being written (on Deno's
 * thread pool, for a file), batch N+1's types are asked for and its pages
 * mapped, and N's pages are unmapped once written.  libxc does the three
 * one after another; overlapped, a dom0 with two vcpus saves a paused guest
 * in about two thirds of the time.
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import { MAX_BATCH_SIZE, PAGE_SIZE, pageTypeHasData, REC_TYPE } from "../libxc/constants.ts";
import { PAGE_DATA_HEADER_SIZE } from "../libxc/page_data.ts";
import { RECORD_HEADER_SIZE, writeRecordHeader } from "../record_header.ts";
import type { Domain } from "../xen/domain.ts";
import type { ForeignMapping, ForeignMemory } from "../xen/foreign_memory.ts";
import type { P2mWalk } from "./p2m_walk.ts";
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
  /** Two record heads: one being written, one being filled. */
  #heads = [newHead(), newHead()];
  #nextHead = 0;
  /** The record being written, and the mapping to release once it is. */
  #inflight: { written: Promise<void>; mapping?: ForeignMapping } | undefined;
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

  /**
   * Sends the windows `walk` asks for, one record each, telling it how many
   * pages with data each held, until it is done.
   */
  async addWalk(walk: P2mWalk): Promise<void> {
    for (let w; (w = walk.next());) {
      for (let i = 0; i < w.count; i++) this.#batch[i] = w.first + i;
      this.#count = w.count;
      walk.found(await this.#send());
    }
    await this.#drain();
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
        if (this.#count === MAX_BATCH_SIZE) await this.#send();
      }
    }
    await this.#send();
    await this.#drain();
    return n;
  }

  /**
   * Starts writing the pending batch as one PAGE_DATA record once the
   * record before it is written; returns its pages with data.  `#drain`
   * waits for the write.
   */
  async #send(): Promise<number> {
    try {
      return await this.#sendBehind();
    } catch (e) {
      await this.#drain().catch(() => {}); // the first failure is the one to report
      throw e;
    }
  }

  async #sendBehind(): Promise<number> {
    const count = this.#count;
    if (count === 0) return 0;
    this.#count = 0;
    const pfns = this.#batch.subarray(0, count);
    const types = this.#domain.pfnTypes(pfns);
    let withData = 0;
    for (let i = 0; i < count; i++) {
      if (pageTypeHasData(types[i] >>> 28)) this.#dataPfns[withData++] = pfns[i];
    }
    const headLength = RECORD_HEADER_SIZE + PAGE_DATA_HEADER_SIZE + count * 8;
    const { bytes: head, words: w } = this.#heads[this.#nextHead];
    this.#nextHead ^= 1;
    writeRecordHeader(
      head,
      0,
      REC_TYPE.PAGE_DATA,
      PAGE_DATA_HEADER_SIZE + count * 8 + withData * PAGE_SIZE,
    );
    // Little-endian words, as the stream is (x86 only): typed-array stores
    // rather than DataView calls, 2048 of them per batch.
    w[0] = count;
    w[1] = 0;
    for (let i = 0, at = 2; i < count; i++, at += 2) {
      const pfn = pfns[i];
      w[at] = pfn % 0x100000000;
      w[at + 1] = ((pfn / 0x100000000) & 0xfffff) | (types[i] & 0xf0000000);
    }
    const mapping = withData > 0 ? this.#map(withData) : undefined;
    try {
      await this.#drain();
    } catch (e) {
      mapping?.release();
      throw e;
    }
    const written = this.#write(head.subarray(0, headLength), mapping);
    // Awaited by the next #send or #drain; until then a failure must not
    // count as unhandled.
    written.catch(() => {});
    this.#inflight = { written, mapping };
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
    return withData;
  }

  /** Waits until every record is written, and unmaps their pages. */
  async #drain(): Promise<void> {
    const f = this.#inflight;
    if (!f) return;
    this.#inflight = undefined;
    try {
      await f.written;
    } finally {
      f.mapping?.release();
    }
  }

  async #write(head: Uint8Array, mapping: ForeignMapping | undefined): Promise<void> {
    await this.#sink.write(head);
    if (mapping) await this.#sink.write(mapping.all());
  }

  /** Maps the first `n` of the batch's pages with data; all of them, or throws. */
  #map(n: number): ForeignMapping {
    const mapping = this.#memory.map(this.#domain.domid, this.#dataPfns.subarray(0, n), PROT_READ);
    if (mapping.failed) {
      const i = mapping.errors.findIndex((e) => e !== 0);
      const [pfn, errno] = [mapping.pfn(i), mapping.errors[i]];
      mapping.release();
      throw new XenError("xenforeignmemory_map", errno, {
        subject: `domid ${this.#domain.domid}, pfn 0x${pfn.toString(16)}`,
        reason: "mapping of a page with data failed",
      });
    }
    return mapping;
  }
}

function newHead(): { bytes: Uint8Array; words: Uint32Array } {
  const bytes = new Uint8Array(RECORD_HEADER_SIZE + PAGE_DATA_HEADER_SIZE + MAX_BATCH_SIZE * 8);
  // The PAGE_DATA header and pfn array as u32 words (from after the record header).
  const words = new Uint32Array(
    bytes.buffer,
    RECORD_HEADER_SIZE,
    (PAGE_DATA_HEADER_SIZE + MAX_BATCH_SIZE * 8) / 4,
  );
  return { bytes, words };
}
