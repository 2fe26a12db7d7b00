/**
 * Caps the rate at which bytes reach a sink, as QEMU's `max-bandwidth`
 * does: the migration engine uses it for `--max-bandwidth`, and benchmarks
 * use it to model a link of a given speed.
 *
 * @module
 */

import type { ByteSink } from "./byte_sink.ts";

/** Bytes written per slice; smaller slices give a smoother rate. */
const SLICE = 256 * 1024;

/**
 * A sink that never runs faster than `bytesPerSecond` on average (measured
 * from its first write; idle time is not banked beyond a 50 ms burst).
 *
 * @example
 * ```ts
 * import { RateLimitedSink } from "./rate_limited_sink.ts";
 * import { memorySink } from "./byte_sink.ts";
 * const sink = new RateLimitedSink(memorySink(), 10 * 1024 * 1024); // 10 MiB/s
 * const t0 = performance.now();
 * await sink.write(new Uint8Array(1024 * 1024)); // 1 MiB: ~100 ms
 * console.assert(performance.now() - t0 >= 80);
 * ```
 */
export class RateLimitedSink implements ByteSink {
  #sink: ByteSink;
  #rate: number;
  #start = -1;
  #sent = 0;

  /** Wraps `sink`, capping it at `bytesPerSecond`. */
  constructor(sink: ByteSink, bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`rate must be positive, got ${bytesPerSecond}`);
    this.#sink = sink;
    this.#rate = bytesPerSecond;
  }

  /** Writes `bytes`, sleeping as needed to keep the rate. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; at += SLICE) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + SLICE));
      const now = performance.now();
      if (this.#start < 0) this.#start = now;
      // Do not bank more than a 50 ms burst of idle time.
      const floor = now - 50;
      if (this.#start + (this.#sent / this.#rate) * 1000 < floor) {
        this.#start = floor;
        this.#sent = 0;
      }
      const due = this.#start + ((this.#sent + part.length) / this.#rate) * 1000;
      if (due > now) await new Promise((r) => setTimeout(r, due - now));
      await this.#sink.write(part);
      this.#sent += part.length;
    }
  }

  /** Closes the underlying sink. */
  close(): Promise<void> {
    return this.#sink.close();
  }
}
