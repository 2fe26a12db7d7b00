/**
 * A run of octets in the legacy stream whose length is known before it is
 * read — an HVM context, qemu state, a vcpu context, toolstack data.  The
 * converter writes such a run on as the body of one v2 record, piece by
 * piece, so memory stays bounded however long the run is.
 *
 * @module
 */

import { TruncatedError } from "../errors.ts";
import type { ByteSink } from "../io/byte_sink.ts";
import type { LegacyInput } from "./input.ts";

/**
 * Largest piece {@linkcode LegacyBlob.pieces} hands out by default.
 *
 * @example
 * ```ts
 * import { BLOB_PIECE_SIZE } from "./blob.ts";
 * console.assert(BLOB_PIECE_SIZE === 1024 * 1024);
 * ```
 */
export const BLOB_PIECE_SIZE = 1 << 20;

/**
 * `length` octets at `offset` of a {@linkcode LegacyInput}, to be consumed
 * once — as pieces, whole, moved to a sink, or skipped — before the input
 * is used again.
 *
 * @example
 * ```ts
 * import { LegacyBlob } from "./blob.ts";
 * import { StreamReader } from "../io/stream_reader.ts";
 * import { bytesSource } from "../io/byte_source.ts";
 * const r = new StreamReader(bytesSource(new Uint8Array([1, 2, 3, 4, 5])));
 * const blob = new LegacyBlob(r, 0, 4, "example");
 * const seen: number[] = [];
 * for await (const piece of blob.pieces(3)) seen.push(...piece);
 * console.assert(seen.join() === "1,2,3,4" && blob.remaining === 0 && r.offset === 4);
 * ```
 */
export class LegacyBlob {
  /** Offset of the first octet in the input. */
  readonly offset: number;
  /** Length in octets. */
  readonly length: number;
  /** What the run is, for error messages. */
  readonly where: string;
  #reader: LegacyInput;
  #done = 0;

  /** Describes `length` octets about to be read from `reader` at `offset`. */
  constructor(reader: LegacyInput, offset: number, length: number, where: string) {
    this.#reader = reader;
    this.offset = offset;
    this.length = length;
    this.where = where;
  }

  /** Octets not consumed yet. */
  get remaining(): number {
    return this.length - this.#done;
  }

  /**
   * The octets, as views of at most `max` octets each (multiples of 8 but
   * the last), each valid until the next piece is requested.
   */
  async *pieces(max = BLOB_PIECE_SIZE): AsyncGenerator<Uint8Array, void, undefined> {
    while (this.#done < this.length) {
      const n = Math.min(max, this.length - this.#done);
      const piece = await this.#read(() => this.#reader.readExact(n, this.where));
      this.#done += n;
      yield piece;
    }
  }

  /** All the octets, copied (for small runs that must be parsed whole). */
  async bytes(): Promise<Uint8Array> {
    const n = this.remaining;
    const view = await this.#read(() => this.#reader.readExact(n, this.where));
    this.#done += n;
    return view.slice();
  }

  /**
   * Writes what has not been consumed to `sink` — moved inside the kernel
   * when the input can do that for this sink, else read and written.
   */
  async moveTo(sink: ByteSink): Promise<void> {
    const n = this.remaining;
    if (n === 0) return;
    const input = this.#reader;
    if (input.transferTo) {
      await this.#read(() => input.transferTo!(n, sink, this.where));
      this.#done += n;
      return;
    }
    for await (const piece of this.pieces(n)) await sink.write(piece);
  }

  /** Skips whatever has not been consumed. */
  async drain(): Promise<void> {
    const n = this.remaining;
    if (n === 0) return;
    await this.#read(() => this.#reader.skip(n, this.where));
    this.#done += n;
  }

  /** Runs a read; a truncation is reported for the whole run. */
  async #read<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (e) {
      if (!(e instanceof TruncatedError)) throw e;
      throw new TruncatedError(this.offset, this.length, this.#done + e.got, this.where);
    }
  }
}
