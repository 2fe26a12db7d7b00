/**
 * The `xl` save-file header in front of a legacy image (`-x`): checked and
 * passed through, with `XL_MANDATORY_FLAG_STREAMV2` set when the output is
 * a libxl stream — what Xen's `skip_xl_header()` means to do.  (Under Python
 * 3 that function compares the magic, bytes, with a `str` and so rejects
 * every header.)
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import {
  decodeXlHeader,
  isXlMagic,
  XL_HEADER_SIZE,
  XL_MAGIC,
  XL_MANDATORY_FLAG_STREAMV2,
  type XlHeader,
} from "../xl/header.ts";
import type { LookaheadInput } from "./input.ts";

/** Largest piece of optional data copied at once. */
const PIECE = 64 * 1024;

/**
 * Reads the xl header from `source` and writes it to `write`, setting
 * STREAMv2 in the mandatory flags when `streamV2`; the optional data (xl's
 * domain config) is copied through piece by piece.  Returns the header as
 * read.  Throws {@linkcode StreamError} ("No xl header") when the magic is
 * wrong.
 *
 * @example
 * ```ts
 * import { passXlHeader } from "./xl_header.ts";
 * import { PeekableSource } from "./peekable_source.ts";
 * import { bytesSource } from "../io/byte_source.ts";
 * import { encodeXlHeader } from "../xl/header.ts";
 * const out: Uint8Array[] = [];
 * const src = new PeekableSource(bytesSource(encodeXlHeader({ mandatoryFlags: 1 }, new Uint8Array(3))));
 * const h = await passXlHeader(src, true, async (b) => { out.push(b.slice()); });
 * console.assert(h.mandatoryFlags === 1 && out[0][36] === 3 && out[1].length === 3 && src.offset === 51);
 * ```
 */
export async function passXlHeader(
  source: LookaheadInput,
  streamV2: boolean,
  write: (bytes: Uint8Array) => Promise<void>,
): Promise<XlHeader> {
  const offset = source.offset;
  const fixed = new Uint8Array(XL_HEADER_SIZE);
  fixed.set(await source.readExact(XL_MAGIC.length, "xl header magic"));
  if (!isXlMagic(fixed.subarray(0, XL_MAGIC.length))) {
    throw new StreamError("No xl header", offset, "xl header");
  }
  fixed.set(await source.readExact(XL_HEADER_SIZE - XL_MAGIC.length, "xl header"), XL_MAGIC.length);
  const header = decodeXlHeader(fixed);
  if (streamV2) {
    new DataView(fixed.buffer).setUint32(
      36,
      header.mandatoryFlags | XL_MANDATORY_FLAG_STREAMV2,
      true,
    );
  }
  await write(fixed);
  for (let left = header.optionalDataLen; left > 0;) {
    const n = Math.min(PIECE, left);
    await write(await source.readExact(n, "xl optional data"));
    left -= n;
  }
  return header;
}
