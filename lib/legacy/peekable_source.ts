/**
 * A {@linkcode ByteSource} that can look ahead: the converter reads the xl
 * header and inspects the start of the legacy image (to detect toolstack
 * width and guest type) before the main reader takes over — on a pipe,
 * where nothing can be re-read.  Bytes looked at are kept and served again;
 * once they are drained, reads go straight to the underlying source into
 * the caller's buffer, so the bulk of the stream is not copied.
 *
 * @module
 */

import { TruncatedError } from "../errors.ts";
import type { ByteSource } from "../io/byte_source.ts";

/**
 * Look-ahead over a byte source.
 *
 * @example
 * ```ts
 * import { PeekableSource } from "./peekable_source.ts";
 * import { bytesSource } from "../io/byte_source.ts";
 * const src = new PeekableSource(bytesSource(new Uint8Array([1, 2, 3, 4, 5])));
 * console.assert((await src.peek(3)).join() === "1,2,3");
 * console.assert((await src.readExact(2)).join() === "1,2" && src.offset === 2);
 * const buf = new Uint8Array(8);
 * console.assert(await src.read(buf) === 3 && buf[0] === 3);
 * console.assert(await src.read(buf) === null);
 * ```
 */
export class PeekableSource implements ByteSource {
  #source: ByteSource;
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #eof = false;
  #consumed = 0;

  /** Looks ahead in `source`. */
  constructor(source: ByteSource) {
    this.#source = source;
  }

  /** Bytes consumed so far (by `read`, `readExact` and `skip`), i.e. the offset of the next one. */
  get offset(): number {
    return this.#consumed;
  }

  /**
   * Returns up to `n` upcoming bytes without consuming them — fewer only at
   * end of input.  The view is valid until the next call.
   */
  async peek(n: number): Promise<Uint8Array> {
    await this.#fill(n);
    return this.#buf.subarray(this.#start, Math.min(this.#end, this.#start + n));
  }

  /** Consumes exactly `n` bytes (a view valid until the next call); {@linkcode TruncatedError} if the input ends first. */
  async readExact(n: number, where = ""): Promise<Uint8Array> {
    await this.#fill(n);
    const have = this.#end - this.#start;
    if (have < n) throw new TruncatedError(this.#consumed, n, have, where);
    const view = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.#consumed += n;
    return view;
  }

  /** Reads into `into`: kept bytes first, then straight from the source. */
  async read(into: Uint8Array): Promise<number | null> {
    if (this.#start < this.#end) {
      const n = Math.min(into.length, this.#end - this.#start);
      into.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      this.#consumed += n;
      if (this.#start === this.#end) this.#buf = new Uint8Array(0); // drained: release it
      return n;
    }
    if (this.#eof) return null;
    const got = await this.#source.read(into);
    if (got === null) this.#eof = true;
    else this.#consumed += got;
    return got;
  }

  /** Closes the source. */
  close(): void {
    this.#source.close();
  }

  /** Makes at least `n` bytes available, unless the input ends first. */
  async #fill(n: number): Promise<void> {
    if (this.#end - this.#start >= n || this.#eof) return;
    if (this.#buf.length - this.#start < n) {
      const next = new Uint8Array(Math.max(n, 4096));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = next;
    }
    while (this.#end - this.#start < n) {
      const got = await this.#source.read(this.#buf.subarray(this.#end));
      if (got === null) {
        this.#eof = true;
        return;
      }
      this.#end += got;
    }
  }
}
