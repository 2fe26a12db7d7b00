/**
 * The PV extended-info block that follows `p2m_size` in a PV image:
 *
 * ```
 * unsigned long  signature (~0UL)
 * uint32_t       total length of the blocks that follow
 * blocks:        char id[4], uint32_t size, size octets of data
 * ```
 *
 * Three blocks are defined: `vcpu` (its size is that of the guest's
 * `vcpu_guest_context`, which tells guest width and pagetable levels),
 * `extv` (the tail carries extended vcpu contexts) and `xcnt` (its first
 * `uint32_t` is the size of each vcpu's xsave record in the tail).
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import { EXT_INFO_BLOCK, VCPU_CONTEXT_SIZES } from "./constants.ts";

/**
 * Size of an extended-info block header (`id`, `size`).
 *
 * @example
 * ```ts
 * import { EXT_INFO_BLOCK_HEADER_SIZE } from "./extended_info.ts";
 * console.assert(EXT_INFO_BLOCK_HEADER_SIZE === 4 + 4);
 * ```
 */
export const EXT_INFO_BLOCK_HEADER_SIZE = 8;

/**
 * Octets of `xcnt` data the converter reads: the xsave size word.
 *
 * @example
 * ```ts
 * import { XCNT_DATA_SIZE } from "./extended_info.ts";
 * console.assert(XCNT_DATA_SIZE === 4);
 * ```
 */
export const XCNT_DATA_SIZE = 4;

/** One decoded extended-info block. */
export interface ExtInfoBlock {
  /** Block id: `vcpu`, `extv` or `xcnt`. */
  id: string;
  /** Data size in octets. */
  size: number;
  /** Offset of the block header in the input. */
  offset: number;
  /** `vcpu`: guest word size in octets (4 or 8). */
  guestWidth?: 4 | 8;
  /** `vcpu`: pagetable levels (3 or 4). */
  ptLevels?: 3 | 4;
  /** `xcnt`: size of each vcpu's xsave record in the tail, header included. */
  xsaveLen?: number;
}

/**
 * Reads a block id: four octets as Latin-1, so any id can be printed.
 *
 * @example
 * ```ts
 * import { decodeBlockId } from "./extended_info.ts";
 * console.assert(decodeBlockId(new TextEncoder().encode("vcpu")) === "vcpu");
 * ```
 */
export function decodeBlockId(bytes: Uint8Array): string {
  return String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
}

/**
 * Interprets a block from its id, size and (for `xcnt`) first data octets.
 * Throws {@linkcode StreamError} for the blocks Xen's converter rejects: an
 * unknown id, a `vcpu` size that is no known context size, an `xcnt` too
 * short for its size word.
 *
 * @example
 * ```ts
 * import { interpretExtInfoBlock } from "./extended_info.ts";
 * const b = interpretExtInfoBlock("vcpu", 0x1430, new Uint8Array(0), 16);
 * console.assert(b.guestWidth === 8 && b.ptLevels === 4);
 * const x = interpretExtInfoBlock("xcnt", 8, new Uint8Array([0x40, 2, 0, 0]), 5200);
 * console.assert(x.xsaveLen === 0x240);
 * ```
 */
export function interpretExtInfoBlock(
  id: string,
  size: number,
  head: Uint8Array,
  offset: number,
): ExtInfoBlock {
  const where = `PV extended-info block "${printableId(id)}"`;
  switch (id) {
    case EXT_INFO_BLOCK.VCPU: {
      const ctx = VCPU_CONTEXT_SIZES[size];
      if (!ctx) {
        throw new StreamError(
          `Unable to determine guest width/level: vcpu context size 0x${size.toString(16)} ` +
            `is neither 0x1430 (64-bit) nor 0xaf0 (32-bit)`,
          offset,
          where,
        );
      }
      return { id, size, offset, guestWidth: ctx.width, ptLevels: ctx.levels };
    }
    case EXT_INFO_BLOCK.EXTV:
      return { id, size, offset };
    case EXT_INFO_BLOCK.XCNT: {
      if (size < XCNT_DATA_SIZE || head.length < XCNT_DATA_SIZE) {
        throw new StreamError(
          `xcnt block of ${size} bytes is too short for its 4-byte xsave size`,
          offset,
          where,
        );
      }
      const xsaveLen = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      return { id, size, offset, xsaveLen };
    }
    default:
      throw new StreamError(`Unrecognised extended block "${printableId(id)}"`, offset, where);
  }
}

/**
 * An id with non-printable octets escaped, for messages.
 *
 * @example
 * ```ts
 * import { printableId } from "./extended_info.ts";
 * console.assert(printableId("ab\x00c") === "ab\\x00c");
 * ```
 */
export function printableId(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
