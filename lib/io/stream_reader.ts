/**
 * Exact-size reads over a {@linkcode ByteSource}, with the byte offset of
 * every structure tracked for error messages.
 *
 * Memory: one internal buffer, reused for every read and grown only as bytes
 * actually arrive, so it stays bounded by the largest structure really
 * present.  A header that claims a 4 GiB body on a 100-byte input ends in a
 * {@linkcode TruncatedError} after reading those 100 bytes — never in a
 * 4 GiB allocation — and anything larger than `maxBytes` is a
 * {@linkcode LimitError} before a byte of it is buffered.
 *
 * @module
 */

import { LimitError, TruncatedError } from "../errors.ts";
import type { ByteSource } from "./byte_source.ts";

/** Default cap on one structure (record body, xl optional data): 256 MiB. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** Reads smaller than this are served from a read-ahead refill. */
const READ_AHEAD = 64 * 1024;
const INITIAL_CAPACITY = 256 * 1024;

/** Options for {@linkcode StreamReader}. */
export interface StreamReaderOptions {
  /** Largest single structure accepted, in bytes (default 256 MiB). */
  maxBytes?: number;
  /** Offset of the first byte of `source` within the whole input (default 0). */
  startOffset?: number;
}

/**
 * Reads exact-size pieces of a byte stream.
 *
 * The views returned by {@linkcode StreamReader.readExact} alias the internal
 * buffer and are valid only until the next call on the reader: copy what you
 * keep.  That is what lets PAGE_DATA pages reach their consumer without a
 * copy.
 *
 * @example
 * ```ts
 * import { StreamReader } from "./stream_reader.ts";
 * import { bytesSource } from "./byte_source.ts";
 * const r = new StreamReader(bytesSource(new Uint8Array([1, 2, 3, 4, 5])));
 * console.assert((await r.readExact(2))[1] === 2);
 * console.assert(r.offset === 2);
 * console.assert((await r.readExact(3))[2] === 5);
 * console.assert(await r.atEnd());
 * ```
 */
export class StreamReader {
  #source: ByteSource;
  #buf: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  #start = 0;
  #end = 0;
  #base: number;
  #eof = false;
  #maxBytes: number;

  /** Reads from `source`. */
  constructor(source: ByteSource, options: StreamReaderOptions = {}) {
    this.#source = source;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#base = options.startOffset ?? 0;
  }

  /** Offset, from the start of the input, of the next byte to be read. */
  get offset(): number {
    return this.#base + this.#start;
  }

  /** The largest structure this reader accepts. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Returns the next `n` bytes as a view valid until the next call.  Throws
   * {@linkcode TruncatedError} if the input ends first (nothing is consumed
   * then) and {@linkcode LimitError} if `n` exceeds `maxBytes`.  `where`
   * names the structure for those errors.
   */
  async readExact(n: number, where = ""): Promise<Uint8Array> {
    // Checked even when the bytes are already buffered, so the outcome does
    // not depend on how the input happened to arrive (read-ahead, chunking).
    if (n > this.#maxBytes) this.#overLimit(n, where);
    if (this.#end - this.#start < n) await this.#fill(n, where);
    const view = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return view;
  }

  /**
   * Returns the next `n` bytes without consuming them (a view valid until
   * the next call); fewer if the input ends first.
   */
  async peek(n: number): Promise<Uint8Array> {
    if (n > this.#maxBytes) this.#overLimit(n, "");
    try {
      if (this.#end - this.#start < n) await this.#fill(n, "");
    } catch (e) {
      if (!(e instanceof TruncatedError)) throw e;
    }
    return this.#buf.subarray(this.#start, Math.min(this.#end, this.#start + n));
  }

  /**
   * Discards `n` bytes without buffering them all at once; throws
   * {@linkcode TruncatedError} if the input ends first.
   */
  async skip(n: number, where = ""): Promise<void> {
    const at = this.offset;
    let left = n;
    while (left > 0) {
      if (this.#start === this.#end) {
        if (this.#eof || !(await this.#refill())) {
          throw new TruncatedError(at, n, n - left, where);
        }
      }
      const take = Math.min(left, this.#end - this.#start);
      this.#start += take;
      left -= take;
    }
  }

  /** True when no byte is left in the input. */
  async atEnd(): Promise<boolean> {
    if (this.#start < this.#end) return false;
    if (this.#eof) return true;
    return !(await this.#refill());
  }

  /**
   * Reads up to `max` bytes, as a view valid until the next call; an empty
   * view means end of input.  For passing bytes through unparsed.
   */
  async readSome(max: number): Promise<Uint8Array> {
    if (this.#start === this.#end && !this.#eof) await this.#refill();
    const n = Math.min(max, this.#end - this.#start);
    const view = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return view;
  }

  /** Closes the underlying source. */
  close(): void {
    this.#source.close();
  }

  /** One read into free space at the end of the buffer; false at EOF. */
  async #refill(): Promise<boolean> {
    if (this.#start === this.#end) {
      this.#base += this.#start;
      this.#start = this.#end = 0;
    }
    if (this.#end === this.#buf.length) this.#compact();
    const got = await this.#source.read(this.#buf.subarray(this.#end));
    if (got === null || got === 0) {
      // A zero-length read on a non-empty buffer is end of input for files.
      if (got === null) this.#eof = true;
      return got !== null && got > 0;
    }
    this.#end += got;
    return true;
  }

  #overLimit(n: number, where: string): never {
    throw new LimitError(
      `structure of ${n} bytes exceeds the ${this.#maxBytes}-byte limit (maxBytes)`,
      this.offset,
      where,
    );
  }

  async #fill(n: number, where: string): Promise<void> {
    if (this.#buf.length - this.#start < n) this.#compact();
    while (this.#end - this.#start < n) {
      const need = n - (this.#end - this.#start);
      if (this.#eof) throw new TruncatedError(this.offset, n, this.#end - this.#start, where);
      // Small needs read ahead; large ones read exactly what is missing, so
      // a big record arrives in one read with no later compaction copy.
      const want = need < READ_AHEAD ? READ_AHEAD : need;
      // Grow only once the room is used up: growing whenever the room was
      // short of `want` reallocated (and copied) on every short read of a
      // pipe or socket — quadratic in the structure (found by fuzzing).
      // Grown when full, the buffer doubles each time: linear.
      if (this.#end === this.#buf.length) this.#grow(this.#end + want, n);
      const room = this.#buf.subarray(
        this.#end,
        this.#end + Math.min(want, this.#buf.length - this.#end),
      );
      const got = await this.#source.read(room);
      if (got === null) {
        this.#eof = true;
        continue;
      }
      this.#end += got;
    }
  }

  /** Moves unread bytes to the front of the buffer. */
  #compact(): void {
    if (this.#start === 0) return;
    this.#buf.copyWithin(0, this.#start, this.#end);
    this.#base += this.#start;
    this.#end -= this.#start;
    this.#start = 0;
  }

  /**
   * Grows toward `wanted` bytes of capacity but at most doubles the bytes
   * actually held (so allocation tracks real input, not claimed lengths).
   */
  #grow(wanted: number, structure: number): void {
    this.#compact();
    const held = this.#end;
    const limit = Math.max(INITIAL_CAPACITY, 2 * Math.max(held, READ_AHEAD));
    const cap = Math.min(wanted, Math.max(limit, this.#buf.length), structure + READ_AHEAD);
    if (cap <= this.#buf.length) return;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#end));
    this.#buf = next;
  }
}
