/**
 * Input from a descriptor through libc, read exactly — no read-ahead past
 * what was asked for or looked at — so the descriptor's position is always
 * where the reader is, and page data can be moved from it to an
 * {@linkcode FdOutput} inside the kernel ({@linkcode FdInput.transferTo}).
 *
 * Structures are small and few (a chunk type and a pfn array per 4 MiB
 * batch), so exact reads cost a syscall or two per batch; the page data,
 * nearly all the stream, never enters the process.
 *
 * @module
 */

import { LimitError, TruncatedError } from "../errors.ts";
import type { ByteSink } from "../io/byte_sink.ts";
import type { ByteSource } from "../io/byte_source.ts";
import { DEFAULT_MAX_BYTES } from "../io/stream_reader.ts";
import { FdOutput } from "./fd_output.ts";
import type { LegacyInput, LookaheadInput } from "./input.ts";
import { ERRNO, errno, fail, type Libc, waitFor } from "./libc.ts";

/** Options for {@linkcode FdInput}. */
export interface FdInputOptions {
  /** Close the descriptor on `close` (default false). */
  owned?: boolean;
  /** Largest structure read whole (default 256 MiB). */
  maxBytes?: number;
}

/** Reads of skipped data go through a buffer of this size. */
const SKIP_PIECE = 1 << 20;

/**
 * A descriptor as {@linkcode LegacyInput}, {@linkcode LookaheadInput} and
 * {@linkcode ByteSource}.
 *
 * @example
 * ```ts
 * import { FdInput } from "./fd_input.ts";
 * import { libc, O_RDONLY, openFd } from "./libc.ts";
 * const c = libc();
 * if (c) {
 *   const path = await Deno.makeTempFile();
 *   await Deno.writeFile(path, new Uint8Array([1, 2, 3, 4, 5]));
 *   const input = new FdInput(c, openFd(c, path, O_RDONLY), { owned: true });
 *   console.assert((await input.peek(3)).join() === "1,2,3" && input.offset === 0);
 *   console.assert((await input.readExact(4)).join() === "1,2,3,4");
 *   await input.skip(1);
 *   console.assert(input.offset === 5);
 *   input.close();
 *   await Deno.remove(path);
 * }
 * ```
 */
export class FdInput implements LegacyInput, LookaheadInput, ByteSource {
  #c: Libc;
  #fd: number;
  #owned: boolean;
  #maxBytes: number;
  // Octets looked at (peek) but not consumed: they precede the descriptor's position.
  #ahead = new Uint8Array(0);
  #aheadStart = 0;
  #aheadEnd = 0;
  #scratch = new Uint8Array(64 * 1024);
  #offset = 0;
  #eof = false;
  #closed = false;

  /** Reads descriptor `fd` through `c`. */
  constructor(c: Libc, fd: number, options: FdInputOptions = {}) {
    this.#c = c;
    this.#fd = fd;
    this.#owned = options.owned ?? false;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /** Offset of the next octet. */
  get offset(): number {
    return this.#offset;
  }

  /** The descriptor. */
  get fd(): number {
    return this.#fd;
  }

  /** Up to `n` upcoming octets (fewer only at end of input), not consumed; valid until the next call. */
  async peek(n: number): Promise<Uint8Array> {
    if (this.#ahead.length - this.#aheadStart < n) {
      const next = new Uint8Array(n);
      next.set(this.#ahead.subarray(this.#aheadStart, this.#aheadEnd));
      this.#aheadEnd -= this.#aheadStart;
      this.#aheadStart = 0;
      this.#ahead = next;
    }
    while (this.#aheadEnd - this.#aheadStart < n) {
      const got = await this.#read(this.#ahead.subarray(this.#aheadEnd, this.#aheadStart + n));
      if (got === 0) break;
      this.#aheadEnd += got;
    }
    return this.#ahead.subarray(this.#aheadStart, Math.min(this.#aheadEnd, this.#aheadStart + n));
  }

  /** The next `n` octets (a view valid until the next call). */
  async readExact(n: number, where = ""): Promise<Uint8Array> {
    if (n > this.#maxBytes) {
      throw new LimitError(
        `structure of ${n} bytes exceeds the ${this.#maxBytes}-byte limit (maxBytes)`,
        this.#offset,
        where,
      );
    }
    const ahead = this.#aheadEnd - this.#aheadStart;
    if (ahead >= n) {
      const view = this.#ahead.subarray(this.#aheadStart, this.#aheadStart + n);
      this.#consumeAhead(n);
      return view;
    }
    if (this.#scratch.length < n) {
      this.#scratch = new Uint8Array(Math.max(n, this.#scratch.length * 2));
    }
    const into = this.#scratch.subarray(0, n);
    into.set(this.#ahead.subarray(this.#aheadStart, this.#aheadEnd));
    let have = ahead;
    while (have < n) {
      const got = await this.#read(into.subarray(have));
      if (got === 0) throw new TruncatedError(this.#offset, n, have, where);
      have += got;
    }
    this.#consumeAhead(ahead);
    this.#offset += n - ahead;
    return into;
  }

  /** Skips `n` octets. */
  async skip(n: number, where = ""): Promise<void> {
    const at = this.#offset;
    const ahead = Math.min(n, this.#aheadEnd - this.#aheadStart);
    this.#consumeAhead(ahead);
    let left = n - ahead;
    while (left > 0) {
      const piece = Math.min(left, SKIP_PIECE);
      if (this.#scratch.length < piece) this.#scratch = new Uint8Array(piece);
      const got = await this.#read(this.#scratch.subarray(0, piece));
      if (got === 0) throw new TruncatedError(at, n, n - left, where);
      left -= got;
      this.#offset += got;
    }
  }

  /**
   * Writes the next `n` octets to `sink`: looked-at octets first, then,
   * into an {@linkcode FdOutput}, the rest moved inside the kernel.
   */
  async transferTo(n: number, sink: ByteSink, where = ""): Promise<void> {
    if (!(sink instanceof FdOutput)) {
      for (let left = n; left > 0;) {
        const piece = Math.min(left, 4 << 20);
        await sink.write(await this.readExact(piece, where));
        left -= piece;
      }
      return;
    }
    const at = this.#offset;
    const ahead = Math.min(n, this.#aheadEnd - this.#aheadStart);
    if (ahead) await sink.write(this.#ahead.subarray(this.#aheadStart, this.#aheadStart + ahead));
    this.#consumeAhead(ahead);
    const moved = await sink.transferFrom(this.#fd, n - ahead);
    this.#offset += moved;
    if (moved < n - ahead) throw new TruncatedError(at, n, ahead + moved, where);
  }

  /** {@linkcode ByteSource}: looked-at octets first, then the descriptor. */
  async read(into: Uint8Array): Promise<number | null> {
    const ahead = this.#aheadEnd - this.#aheadStart;
    if (ahead > 0) {
      const n = Math.min(ahead, into.length);
      into.set(this.#ahead.subarray(this.#aheadStart, this.#aheadStart + n));
      this.#consumeAhead(n);
      return n;
    }
    const got = await this.#read(into);
    this.#offset += got;
    return got === 0 ? null : got;
  }

  /** Closes the descriptor if owned. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) this.#c.close(this.#fd);
  }

  #consumeAhead(n: number): void {
    this.#aheadStart += n;
    this.#offset += n;
    if (this.#aheadStart === this.#aheadEnd) {
      this.#aheadStart = this.#aheadEnd = 0;
      if (this.#ahead.length > 64 * 1024) this.#ahead = new Uint8Array(0);
    }
  }

  /** One read(2) into `into`; 0 at end of input. */
  async #read(into: Uint8Array): Promise<number> {
    if (this.#eof || into.length === 0) return 0;
    for (;;) {
      // Wait (yielding) until the read cannot block: a read(2) that blocks
      // on a silent pipe would hold the event loop, and Ctrl-C with it.
      await waitFor(this.#c, this.#fd, false);
      const r = Number(this.#c.read(this.#fd, into, BigInt(into.length)));
      if (r > 0) return r;
      if (r === 0) {
        this.#eof = true;
        return 0;
      }
      const e = errno(this.#c);
      if (e === ERRNO.EINTR) continue;
      if (e === ERRNO.EAGAIN) {
        await waitFor(this.#c, this.#fd, false);
        continue;
      }
      fail(this.#c, "read", this.#fd, e);
    }
  }
}
