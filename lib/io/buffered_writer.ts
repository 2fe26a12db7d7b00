/**
 * Coalesces small writes (headers, small records) into large ones, and
 * passes large buffers (PAGE_DATA batches) straight through, so a stream is
 * written with few syscalls and no copies of page data.
 *
 * @module
 */

import type { ByteSink } from "./byte_sink.ts";

const DEFAULT_BUFFER = 1 << 20;

/**
 * A buffered {@linkcode ByteSink} that counts what it has written.
 *
 * @example
 * ```ts
 * import { BufferedWriter } from "./buffered_writer.ts";
 * import { memorySink } from "./byte_sink.ts";
 * const mem = memorySink();
 * const w = new BufferedWriter(mem);
 * await w.write(new Uint8Array([1, 2]));
 * await w.write(new Uint8Array([3]));
 * console.assert(mem.bytes().length === 0 && w.bytesWritten === 3);
 * await w.flush();
 * console.assert(mem.bytes().length === 3);
 * ```
 */
export class BufferedWriter implements ByteSink {
  #sink: ByteSink;
  #buf: Uint8Array;
  #used = 0;
  #written = 0;

  /** Buffers up to `size` bytes (default 1 MiB) before writing to `sink`. */
  constructor(sink: ByteSink, size = DEFAULT_BUFFER) {
    this.#sink = sink;
    this.#buf = new Uint8Array(size);
  }

  /** Bytes accepted so far (flushed or not). */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Accepts `bytes`; they may be held until the buffer fills or {@linkcode flush}. */
  async write(bytes: Uint8Array): Promise<void> {
    this.#written += bytes.length;
    if (this.#used + bytes.length <= this.#buf.length) {
      this.#buf.set(bytes, this.#used);
      this.#used += bytes.length;
      return;
    }
    await this.flush();
    if (bytes.length >= this.#buf.length / 2) {
      await this.#sink.write(bytes);
    } else {
      this.#buf.set(bytes);
      this.#used = bytes.length;
    }
  }

  /** Writes out everything held. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    const n = this.#used;
    this.#used = 0;
    await this.#sink.write(this.#buf.subarray(0, n));
  }

  /** Flushes, then closes the sink. */
  async close(): Promise<void> {
    await this.flush();
    await this.#sink.close();
  }
}
