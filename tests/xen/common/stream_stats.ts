/**
 * What a captured migration stream says about the migration that sent it:
 * bytes, page records, pages sent, distinct pfns, and how many passes it
 * took — both as the most times any pfn was sent, and as the number of
 * times the pfn order starts over (libxc walks each pass upwards).
 *
 * @module
 */

import { REC_TYPE } from "../../../lib/libxc/constants.ts";
import { readerSource } from "../../../lib/io/byte_source.ts";
import { type StreamFormat, StreamParser } from "../../../lib/stream_parser.ts";

/** Statistics of one stream. */
export interface StreamStats {
  /** Bytes up to the end of the final END record. */
  streamBytes: number;
  /** PAGE_DATA records. */
  pageRecords: number;
  /** pfn entries in them. */
  pagesSent: number;
  /** Distinct pfns. */
  uniquePfns: number;
  /** The most times one pfn was sent: precopy iterations plus the final copy. */
  maxSends: number;
  /**
   * Runs of ascending pfns: the number of passes for libxc, whose every
   * pass walks upwards; more for xenmig, whose first pass walks the
   * physmap from both ends.
   */
  passes: number;
}

/** Collects {@linkcode StreamStats} from PAGE_DATA bodies. */
export class PageCounter {
  #sends = new Map<number, number>();
  #records = 0;
  #pages = 0;
  #passes = 0;
  #lastPfn = -1;
  #maxSends = 0;

  /** Counts one PAGE_DATA body (`count`, reserved, then u64 pfn entries). */
  add(body: Uint8Array): void {
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const count = v.getUint32(0, true);
    this.#records++;
    for (let i = 0; i < count && 8 + 8 * i + 8 <= body.length; i++) {
      const lo = v.getUint32(8 + 8 * i, true);
      const hi = v.getUint32(12 + 8 * i, true) & 0xfffff;
      const pfn = hi * 2 ** 32 + lo;
      if (i === 0 && pfn <= this.#lastPfn) this.#passes++;
      if (this.#lastPfn < 0) this.#passes = 1;
      this.#lastPfn = pfn;
      const n = (this.#sends.get(pfn) ?? 0) + 1;
      this.#sends.set(pfn, n);
      if (n > this.#maxSends) this.#maxSends = n;
      this.#pages++;
    }
  }

  /** The statistics so far. */
  stats(streamBytes: number): StreamStats {
    return {
      streamBytes,
      pageRecords: this.#records,
      pagesSent: this.#pages,
      uniquePfns: this.#sends.size,
      maxSends: this.#maxSends,
      passes: this.#passes,
    };
  }
}

/** Reads a stream file (an `xl` save file or migration capture by default). */
export async function streamStats(path: string, format: StreamFormat = "xl"): Promise<StreamStats> {
  using file = await Deno.open(path);
  const parser = new StreamParser(readerSource(file), { format });
  const counter = new PageCounter();
  for await (const ev of parser.events()) {
    if (ev.kind === "record" && ev.layer === "libxc" && ev.type === REC_TYPE.PAGE_DATA) {
      counter.add(ev.body);
    }
  }
  return counter.stats(parser.reader.offset);
}
