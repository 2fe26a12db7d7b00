/**
 * libxl's legacy toolstack chunk (`XC_SAVE_ID_TOOLSTACK`), version 1: the
 * qemu physmap, which the v2 format carries as xenstore key / value pairs in
 * an EMULATOR_XENSTORE_DATA record instead.
 *
 * ```
 * uint32_t version (1)
 * uint32_t count
 * count x libxl__physmap_info:
 *   uint64_t phys_offset, start_addr, size
 *   uint32_t namelen
 *   char     name[namelen]          (NUL terminated)
 *   char     padding[4]             (64-bit toolstacks only)
 * ```
 *
 * The padding is the quirk `legacy.py` describes: `libxl__physmap_info` has
 * 4 octets of tail padding in a 64-bit build, and libxl's pointer arithmetic
 * put them after the name.
 *
 * Each entry becomes three pairs under `physmap/<phys_offset in hex>`:
 * `start_addr`, `size` (hex) and `name` (without its NUL), byte for byte as
 * Xen's converter writes them — names are octets, not necessarily UTF-8.
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import {
  LIBXL_PHYSMAP_HEADER_SIZE,
  LIBXL_PHYSMAP_NAME_PADDING_64,
  LIBXL_TOOLSTACK_VERSION,
  type ToolstackWidth,
} from "./constants.ts";

/** One xenstore pair, as octets. */
export interface XenstorePair {
  /** Key, relative to the emulator's xenstore path. */
  key: Uint8Array;
  /** Value. */
  value: Uint8Array;
}

/** A decoded toolstack chunk. */
export interface LibxlToolstack {
  /** Layout version (1). */
  version: number;
  /** Physmap entries announced. */
  count: number;
  /** The pairs, three per entry. */
  pairs: XenstorePair[];
  /** The pairs as EMULATOR_XENSTORE_DATA wants them: `key\0value\0...`. */
  xenstoreData: Uint8Array;
}

const ascii = new TextEncoder();

/**
 * Decodes libxl toolstack data of a `width`-bit toolstack; `offset` (of the
 * data in the input) locates errors, which carry Xen's messages.
 *
 * @example
 * ```ts
 * import { decodeLibxlToolstack } from "./toolstack.ts";
 * const name = new TextEncoder().encode("vram\0");
 * const data = new Uint8Array(8 + 28 + name.length);
 * const v = new DataView(data.buffer);
 * v.setUint32(0, 1, true); // version
 * v.setUint32(4, 1, true); // count
 * v.setBigUint64(8, 0xf0000000n, true); // phys_offset
 * v.setBigUint64(16, 0xf0000000n, true); // start_addr
 * v.setBigUint64(24, 0x800000n, true); // size
 * v.setUint32(32, name.length, true);
 * data.set(name, 36);
 * const ts = decodeLibxlToolstack(data, 32, 0);
 * console.assert(new TextDecoder().decode(ts.pairs[2].key) === "physmap/f0000000/name");
 * console.assert(new TextDecoder().decode(ts.xenstoreData).endsWith("/name\0vram\0"));
 * ```
 */
export function decodeLibxlToolstack(
  data: Uint8Array,
  width: ToolstackWidth,
  offset: number,
): LibxlToolstack {
  const where = "libxl toolstack data";
  const fail = (msg: string, at: number) => new StreamError(msg, offset + at, where);
  if (data.length < 8) throw fail("Overly short libxl toolstack data", 0);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = v.getUint32(0, true);
  const count = v.getUint32(4, true);
  if (version !== LIBXL_TOOLSTACK_VERSION) {
    throw fail(`Cannot decode libxl toolstack version ${version}`, 0);
  }
  const pairs: XenstorePair[] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (data.length - at < LIBXL_PHYSMAP_HEADER_SIZE) {
      throw fail(`Remaining data too short for physmap header (entry ${i})`, at);
    }
    const phys = v.getBigUint64(at, true);
    const start = v.getBigUint64(at + 8, true);
    const size = v.getBigUint64(at + 16, true);
    const namelen = v.getUint32(at + 24, true);
    if (namelen === 0) throw fail(`No physmap info name (entry ${i})`, at);
    at += LIBXL_PHYSMAP_HEADER_SIZE;
    const stored = namelen + (width === 64 ? LIBXL_PHYSMAP_NAME_PADDING_64 : 0);
    if (data.length - at < stored) {
      throw fail(`Remaining data too short for physmap name (entry ${i})`, at);
    }
    const name = data.subarray(at, at + namelen);
    if (name[namelen - 1] !== 0) throw fail(`physmap name not NUL terminated (entry ${i})`, at);
    at += stored;
    const root = `physmap/${phys.toString(16)}`;
    pairs.push(
      { key: ascii.encode(`${root}/start_addr`), value: ascii.encode(start.toString(16)) },
      { key: ascii.encode(`${root}/size`), value: ascii.encode(size.toString(16)) },
      { key: ascii.encode(`${root}/name`), value: name.slice(0, namelen - 1) },
    );
  }
  return { version, count, pairs, xenstoreData: encodePairs(pairs) };
}

/** `key\0value\0` for each pair. */
function encodePairs(pairs: readonly XenstorePair[]): Uint8Array {
  const size = pairs.reduce((n, p) => n + p.key.length + p.value.length + 2, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pairs) {
    out.set(p.key, at);
    at += p.key.length + 1;
    out.set(p.value, at);
    at += p.value.length + 1;
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Octets as text for messages: UTF-8 when valid, otherwise printable ASCII
 * with every other octet as `\xNN` (Python's `backslashreplace`).
 *
 * @example
 * ```ts
 * import { printableBytes } from "./toolstack.ts";
 * console.assert(printableBytes(new Uint8Array([0x76, 0xff])) === "v\\xff");
 * console.assert(printableBytes(new TextEncoder().encode("vga")) === "vga");
 * ```
 */
export function printableBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let s = "";
    for (const b of bytes) {
      s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
    }
    return s;
  }
}
