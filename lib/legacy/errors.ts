/**
 * The error for legacy content that is well formed but that the converter
 * does not implement — the cases where Xen's `convert-legacy-stream` stops
 * with "Script Error" (`RuntimeError("todo")`) and exit code 2: tmem,
 * compressed page data, and qemu records other than `DeviceModelRecord0002`.
 *
 * Bad input raises {@linkcode StreamError} (exit code 1) instead; a stream
 * whose toolstack width or guest type cannot be told raises
 * {@linkcode LegacyDetectionError}, a `StreamError`.
 *
 * @module
 */

import { StreamError } from "../errors.ts";

/**
 * The layout of a legacy image cannot be detected: it is ambiguous, or it is
 * not a legacy image at all.  The message says what was seen and which
 * option (`-w`, `-g`, `-x`) settles it.
 *
 * @example
 * ```ts
 * import { LegacyDetectionError } from "./errors.ts";
 * import { StreamError } from "../errors.ts";
 * const e = new LegacyDetectionError("ambiguous guest type; pass -g pv or -g hvm", 8);
 * console.assert(e instanceof StreamError && e.offset === 8);
 * ```
 */
export class LegacyDetectionError extends StreamError {
  /** Creates a detection error at byte `offset`. */
  constructor(message: string, offset: number, where = "legacy image detection") {
    super(message, offset, where);
    this.name = "LegacyDetectionError";
  }
}

/**
 * Legacy content the converter cannot convert.  Like a `StreamError` it
 * names what and where (byte offset), in one line.
 *
 * @example
 * ```ts
 * import { LegacyUnsupportedError } from "./errors.ts";
 * const e = new LegacyUnsupportedError("tmem chunks are not supported", 4104, "legacy chunk -5 (tmem)");
 * console.assert(e.describe() === "tmem chunks are not supported (legacy chunk -5 (tmem), offset 4104)");
 * ```
 */
export class LegacyUnsupportedError extends Error {
  /** Byte offset of the structure from the start of the input. */
  readonly offset: number;
  /** What was being read. */
  readonly where: string;

  /** Creates an error about `where`, at byte `offset`. */
  constructor(message: string, offset: number, where = "") {
    super(message);
    this.name = "LegacyUnsupportedError";
    this.offset = offset;
    this.where = where;
  }

  /** One line: the message, then what and where. */
  describe(): string {
    const at = `offset ${this.offset}`;
    return `${this.message} (${this.where ? `${this.where}, ${at}` : at})`;
  }
}
