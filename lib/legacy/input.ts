/**
 * What the legacy reader reads from.  {@linkcode StreamReader} is one (a
 * buffered reader over any byte source); `FdInput` is another (a
 * descriptor, read exactly, whose page data can be moved to an `FdOutput`
 * inside the kernel).
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";

/**
 * Exact reads with byte offsets.  Views returned by `readExact` are valid
 * until the next call.
 */
export interface LegacyInput {
  /** Offset of the next octet from the start of the input. */
  readonly offset: number;
  /** The next `n` octets; `TruncatedError` if the input ends first. */
  readExact(n: number, where?: string): Promise<Uint8Array>;
  /** Skips `n` octets; `TruncatedError` if the input ends first. */
  skip(n: number, where?: string): Promise<void>;
  /**
   * Writes the next `n` octets to `sink` — without copying them through the
   * process when input and sink allow it; `TruncatedError` if the input ends
   * first.  Inputs without it are read and written.
   */
  transferTo?(n: number, sink: ByteSink, where: string): Promise<void>;
}

/** An input that can also look ahead (for the xl header and detection). */
export interface LookaheadInput {
  /** Offset of the next octet. */
  readonly offset: number;
  /** Up to `n` upcoming octets, not consumed (fewer only at end of input). */
  peek(n: number): Promise<Uint8Array>;
  /** The next `n` octets. */
  readExact(n: number, where?: string): Promise<Uint8Array>;
}
