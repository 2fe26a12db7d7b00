/**
 * Errors raised by xenmig's stream readers and verifiers.  Every error that
 * stems from the bytes of a stream carries the byte offset it applies to, so
 * a command can say what is wrong and where in one line.
 *
 * The classes mirror the three outcomes Xen's `xen.migration` package
 * distinguishes: {@linkcode StreamError} (the stream as a whole is malformed),
 * {@linkcode RecordError} (one record's content breaks its rules) and
 * {@linkcode TruncatedError} (the stream ended early).
 *
 * @module
 */

/**
 * The stream is malformed.  `offset` is the byte offset (from the start of
 * the input) of the structure at fault; `where` names it, e.g.
 * `"libxc record 12 (PAGE_DATA)"`.
 *
 * @example Report one line
 * ```ts
 * import { StreamError } from "./errors.ts";
 * const e = new StreamError("Bad image marker", 0, "libxc image header");
 * console.assert(e.describe() === "Bad image marker (libxc image header, offset 0)");
 * ```
 */
export class StreamError extends Error {
  /** Byte offset of the fault from the start of the input. */
  readonly offset: number;
  /** What was being read, e.g. `"libxl record 3 (EMULATOR_CONTEXT)"`. */
  readonly where: string;

  /** Creates an error about `where`, located at byte `offset`. */
  constructor(message: string, offset: number, where = "") {
    super(message);
    this.name = "StreamError";
    this.offset = offset;
    this.where = where;
  }

  /** One line: the message, then what and where in parentheses. */
  describe(): string {
    const at = `offset ${this.offset}`;
    return `${this.message} (${this.where ? `${this.where}, ${at}` : at})`;
  }
}

/**
 * A record's content breaks the rules for its type.
 *
 * @example
 * ```ts
 * import { RecordError, StreamError } from "./errors.ts";
 * const e = new RecordError("End record with non-zero length", 96, "libxc record 4 (END)");
 * console.assert(e instanceof StreamError);
 * ```
 */
export class RecordError extends StreamError {
  /** Creates a record error at byte `offset`. */
  constructor(message: string, offset: number, where = "") {
    super(message, offset, where);
    this.name = "RecordError";
  }
}

/**
 * The input ended before a structure was complete.  The message is Xen's
 * ("Stream truncated"); `offset` is where the incomplete structure starts and
 * `wanted` / `got` say how many bytes it needed and found.
 *
 * @example
 * ```ts
 * import { TruncatedError } from "./errors.ts";
 * const e = new TruncatedError(16, 24, 3, "libxc image header");
 * console.assert(e.describe() === "Stream truncated (libxc image header, offset 16: needed 24 bytes, got 3)");
 * ```
 */
export class TruncatedError extends StreamError {
  /** Bytes the structure needed. */
  readonly wanted: number;
  /** Bytes the input still had. */
  readonly got: number;

  /** Creates a truncation error for a structure of `wanted` bytes at `offset`. */
  constructor(offset: number, wanted: number, got: number, where = "") {
    super("Stream truncated", offset, where);
    this.name = "TruncatedError";
    this.wanted = wanted;
    this.got = got;
  }

  override describe(): string {
    const w = this.where ? `${this.where}, ` : "";
    return `${this.message} (${w}offset ${this.offset}: needed ${this.wanted} bytes, got ${this.got})`;
  }
}

/**
 * A structure is larger than a configured limit allows; the message names the
 * limit so the user knows which option raises it.
 *
 * @example
 * ```ts
 * import { LimitError } from "./errors.ts";
 * const e = new LimitError("record body of 4294967288 bytes exceeds maxRecordBytes (268435456)", 40);
 * console.assert(e.offset === 40);
 * ```
 */
export class LimitError extends StreamError {
  /** Creates a limit error at byte `offset`. */
  constructor(message: string, offset: number, where = "") {
    super(message, offset, where);
    this.name = "LimitError";
  }
}
