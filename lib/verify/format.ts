/**
 * Python-compatible number formatting, so messages match Xen's verifier
 * character for character (`%x`, `%04x`, `%016x`).
 *
 * @module
 */

/**
 * `"%0{width}x" % value`.
 *
 * @example
 * ```ts
 * import { hex } from "./format.ts";
 * console.assert(hex(255) === "ff" && hex(1, 4) === "0001" && hex(0xffffffffffffffffn) === "ffffffffffffffff");
 * ```
 */
export function hex(value: number | bigint, width = 0): string {
  return value.toString(16).padStart(width, "0");
}
