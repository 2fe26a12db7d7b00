/**
 * Tells the three stream layers apart by their first eight octets: the xl
 * magic ("Xen save"), the libxl ident ("LibxlFmt"), or the libxc image
 * marker (all ones).
 *
 * @module
 */

import type { StreamFormat } from "./stream_parser.ts";
import { XL_MAGIC } from "./xl/header.ts";

const LIBXL = new TextEncoder().encode("LibxlFmt");

/**
 * The format a stream starting with `head` is in, or undefined.
 *
 * @example
 * ```ts
 * import { detectFormat } from "./detect_format.ts";
 * console.assert(detectFormat(new TextEncoder().encode("LibxlFmt")) === "libxl");
 * console.assert(detectFormat(new Uint8Array(8).fill(0xff)) === "libxc");
 * console.assert(detectFormat(new Uint8Array(8)) === undefined);
 * ```
 */
export function detectFormat(head: Uint8Array): StreamFormat | undefined {
  if (head.length < 8) return undefined;
  const starts = (m: Uint8Array) => m.subarray(0, 8).every((b, i) => head[i] === b);
  if (starts(XL_MAGIC)) return "xl";
  if (starts(LIBXL)) return "libxl";
  if (head.subarray(0, 8).every((b) => b === 0xff)) return "libxc";
  return undefined;
}
