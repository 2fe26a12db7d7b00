/**
 * Detects the toolstack width and guest type of a legacy image from its
 * first octets, so `-w` and `-g` can be left out.
 *
 * Width follows the spec (`libxc-migration-stream.pandoc`, "Legacy
 * Images"): octets 4–7 are zero in a 64-bit image (the high half of
 * `p2m_size`, which is below 2^32); in a 32-bit image they are the PV
 * extended-info signature `0xFFFFFFFF`, an HVM chunk type (< 0) or an HVM
 * page count (> 0).
 *
 * Guest type comes from the structure: the start of the image is walked as
 * PV (extended-info signature, known blocks with a `vcpu` context size,
 * p2m frames, chunks) and as HVM (chunks, then an HVM context that starts
 * with the HVM save header), up to the end of the look-ahead window.  Exactly
 * one reading must hold.  If both do — an HVM image starting with
 * `enable_verify_mode` chunks reads like the PV signature — or neither, the
 * image is refused with a {@linkcode LegacyDetectionError} that says why.
 *
 * @module
 */

import { TruncatedError } from "../errors.ts";
import { HVM_FILE_MAGIC, HVM_SAVE_TYPE } from "../libxc/hvm_context.ts";
import { IHDR_IDENT } from "../libxc/constants.ts";
import { HDR_IDENT } from "../libxl/constants.ts";
import { XL_MAGIC } from "../xl/header.ts";
import { chunkName, LEGACY_CHUNKS } from "./chunks.ts";
import {
  EXT_INFO_BLOCK,
  LEGACY_PAGE_SIZE,
  type LegacyGuestType,
  MAX_BATCH,
  MAX_VCPU_ID,
  type ToolstackWidth,
  VCPU_CONTEXT_SIZES,
  XTAB_FILLER,
} from "./constants.ts";
import { LegacyDetectionError } from "./errors.ts";
import { decodeBlockId, printableId } from "./extended_info.ts";
import { legacyTypeHasData } from "./page_batch.ts";
import { vcpuBitmapWords } from "./vcpu_info.ts";

/**
 * How many octets of the image detection looks at (fewer at end of input).
 *
 * @example
 * ```ts
 * import { DETECT_WINDOW } from "./detect.ts";
 * console.assert(DETECT_WINDOW === 65536);
 * ```
 */
export const DETECT_WINDOW = 64 * 1024;

/** Toolstack width and guest type of a legacy image. */
export interface LegacyLayout {
  /** Toolstack word size. */
  width: ToolstackWidth;
  /** Guest type. */
  guestType: LegacyGuestType;
}

/** A detected layout, with the evidence for what was detected. */
export interface LegacyDetection extends LegacyLayout {
  /** Why this width (absent when it was given). */
  widthReason?: string;
  /** Why this guest type (absent when it was given). */
  guestReason?: string;
}

/** Legacy page types no saver writes (5–8): a strong sign a reading is wrong. */
const INVALID_PAGE_TYPES = new Set([5, 6, 7, 8]);

/** The image ended, or the window did, before the reading failed. */
class EndOfWindow {}

/** The reading does not hold. */
class NotThis {
  constructor(readonly why: string) {}
}

/** Bounds-checked little-endian reads over the window. */
class Cursor {
  at = 0;
  readonly #v: DataView;
  constructor(readonly bytes: Uint8Array, readonly ulongSize: number, readonly base: number) {
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number): number {
    if (this.at + n > this.bytes.length) throw new EndOfWindow();
    const at = this.at;
    this.at += n;
    return at;
  }
  u32(): number {
    return this.#v.getUint32(this.#need(4), true);
  }
  i32(): number {
    return this.#v.getInt32(this.#need(4), true);
  }
  u16(): number {
    return this.#v.getUint16(this.#need(2), true);
  }
  ulong(): bigint {
    const at = this.#need(this.ulongSize);
    return this.ulongSize === 8
      ? this.#v.getBigUint64(at, true)
      : BigInt(this.#v.getUint32(at, true));
  }
  words(n: number): { lo: number; hi: number }[] {
    const at = this.#need(n * this.ulongSize);
    const out = [];
    for (let i = 0; i < n; i++) {
      const p = at + i * this.ulongSize;
      out.push({
        lo: this.#v.getUint32(p, true),
        hi: this.ulongSize === 8 ? this.#v.getUint32(p + 4, true) : 0,
      });
    }
    return out;
  }
  id(): string {
    return decodeBlockId(this.bytes.subarray(this.#need(4)));
  }
  skip(n: number): void {
    this.at += n; // Past the window is fine: the next read ends the walk.
  }
}

type Reading = { holds: true; evidence: string } | { holds: false; why: string };

/** Runs a walk; running out of window means "holds so far". */
function attempt(walk: (notes: string[]) => void): Reading {
  const notes: string[] = [];
  try {
    walk(notes);
  } catch (e) {
    if (e instanceof NotThis) return { holds: false, why: e.why };
    if (!(e instanceof EndOfWindow)) throw e;
  }
  return { holds: true, evidence: notes.join(", ") || "too short to tell" };
}

/** Walks body chunks; `pv` rejects HVM-only chunks, HVM checks the tail's context header. */
function walkChunks(c: Cursor, pv: boolean, notes: string[]): void {
  for (let first = true;; first = false) {
    const at = c.at;
    const type = c.i32();
    if (first) notes.push(`first chunk ${chunkName(type)} at offset ${c.base + at}`);
    if (type > 0) {
      if (type > MAX_BATCH) throw new NotThis(`a page batch of ${type} pages exceeds MAX_BATCH`);
      const seen = new Set<number>();
      let data = 0;
      for (const { lo, hi } of c.words(type)) {
        if (lo === XTAB_FILLER && hi === 0) continue;
        if (hi !== 0) throw new NotThis(`a pfn word with bits 32-63 set at offset ${c.base + at}`);
        const pageType = lo >>> 28;
        if (INVALID_PAGE_TYPES.has(pageType)) {
          throw new NotThis(`page type ${pageType} in the batch at offset ${c.base + at}`);
        }
        if (seen.has(lo)) throw new NotThis(`duplicate pfns in the batch at offset ${c.base + at}`);
        seen.add(lo);
        if (legacyTypeHasData(pageType)) data++;
      }
      c.skip(data * LEGACY_PAGE_SIZE);
      continue;
    }
    const chunk = LEGACY_CHUNKS[type];
    if (!chunk) throw new NotThis(`unknown chunk type ${type} at offset ${c.base + at}`);
    if (type === 0) {
      if (!pv) checkHvmTail(c, notes);
      return;
    }
    if (!chunk.supported) return; // Conversion reports it; the reading holds this far.
    if (pv && chunk.hvmOnly) throw new NotThis(`HVM-only chunk ${chunkName(type)}`);
    switch (chunk.layout) {
      case "vcpu_info": {
        const max = c.i32();
        if (max < 0 || max > MAX_VCPU_ID) throw new NotThis(`vcpu_info with max_id ${max}`);
        c.skip(vcpuBitmapWords(max) * 8);
        break;
      }
      case "hvm_param":
        c.skip(12);
        break;
      case "tsc_info":
        c.skip(20);
        break;
      case "sized":
        c.skip(c.u32());
        break;
    }
  }
}

/** The HVM tail: magic pfns, then a context starting with the HVM save header. */
function checkHvmTail(c: Cursor, notes: string[]): void {
  c.skip(24);
  const size = c.u32();
  const typecode = c.u16();
  c.u16();
  c.u32();
  const magic = c.u32();
  if (size < 12 || typecode !== HVM_SAVE_TYPE.HEADER || magic !== HVM_FILE_MAGIC) {
    throw new NotThis("the HVM context does not start with the HVM save header");
  }
  notes.push("an HVM context with the HVM save header");
}

function readAsPv(window: Uint8Array, ulong: number, base: number): Reading {
  return attempt((notes) => {
    const c = new Cursor(window, ulong, base);
    const p2mSize = c.ulong();
    const signature = c.ulong();
    if (signature !== (ulong === 8 ? 0xffffffffffffffffn : 0xffffffffn)) {
      throw new NotThis(`no extended-info signature after p2m_size (0x${signature.toString(16)})`);
    }
    notes.push("extended-info signature");
    const total = c.u32();
    let soFar = 0;
    let guestWidth = 0;
    while (soFar < total) {
      const id = c.id();
      const size = c.u32();
      soFar += 8 + size;
      if (id === EXT_INFO_BLOCK.VCPU) {
        const ctx = VCPU_CONTEXT_SIZES[size];
        if (!ctx) throw new NotThis(`vcpu block of 0x${size.toString(16)} bytes`);
        guestWidth = ctx.width;
        notes.push(`vcpu block of 0x${size.toString(16)} bytes (${ctx.width * 8}-bit guest)`);
      } else if (id === EXT_INFO_BLOCK.XCNT) {
        if (size < 4) throw new NotThis(`xcnt block of ${size} bytes`);
      } else if (id !== EXT_INFO_BLOCK.EXTV) {
        throw new NotThis(`unknown extended-info block "${printableId(id)}"`);
      }
      c.skip(size);
    }
    if (soFar !== total) throw new NotThis("extended-info blocks overrun their length");
    if (!guestWidth) throw new NotThis("no vcpu block in the extended info");
    if (p2mSize === 0n || p2mSize > 0x100000000n) throw new NotThis("p2m_size out of range");
    c.skip((Number((p2mSize - 1n) / BigInt(LEGACY_PAGE_SIZE / guestWidth)) + 1) * ulong);
    walkChunks(c, true, notes);
  });
}

function readAsHvm(window: Uint8Array, ulong: number, base: number): Reading {
  return attempt((notes) => {
    const c = new Cursor(window, ulong, base);
    c.ulong();
    walkChunks(c, false, notes);
  });
}

function describeWord32(w: number): string {
  if (w === 0xffffffff) return "the PV extended-info signature, or HVM chunk -1";
  const i = w | 0;
  if (i < 0) return LEGACY_CHUNKS[i] ? `HVM chunk type ${i}` : `no known chunk type`;
  return i <= MAX_BATCH ? `an HVM page batch of ${i} pages` : "no page count up to MAX_BATCH";
}

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * Refuses input that is not a legacy image but something recognisable — an
 * xl header (when `-x` was not given) or a stream already in the v2 format —
 * with a {@linkcode LegacyDetectionError}.  `offset` is where `window`
 * starts in the input.
 *
 * @example
 * ```ts
 * import { rejectNonLegacy } from "./detect.ts";
 * import { encodeImageHeader } from "../libxc/image_header.ts";
 * let message = "";
 * try { rejectNonLegacy(encodeImageHeader({}), 0); } catch (e) { message = (e as Error).message; }
 * console.assert(message.includes("already a libxc v2"));
 * ```
 */
export function rejectNonLegacy(window: Uint8Array, offset: number): void {
  if (startsWith(window, XL_MAGIC)) {
    throw new LegacyDetectionError(
      "the input starts with an xl header: pass -x/--xl to convert it",
      offset,
    );
  }
  if (window.length >= 12) {
    const v = new DataView(window.buffer, window.byteOffset, 12);
    if (v.getBigUint64(0, false) === 0xffffffffffffffffn && v.getUint32(8, false) === IHDR_IDENT) {
      throw new LegacyDetectionError(
        "the input is already a libxc v2 (or later) stream, not a legacy image",
        offset,
      );
    }
    if (v.getBigUint64(0, false) === HDR_IDENT) {
      throw new LegacyDetectionError(
        "the input is already a libxl v2 stream, not a legacy image",
        offset,
      );
    }
  }
}

/**
 * Detects what `known` leaves open from `window`, the first octets of the
 * image (up to {@linkcode DETECT_WINDOW}, fewer only at end of input).
 * `offset` is where the window starts in the input, for messages.
 *
 * @example
 * ```ts
 * import { detectLegacyLayout } from "./detect.ts";
 * const image = new Uint8Array(8 + 4 + 4 + 24 + 4 + 32);
 * const v = new DataView(image.buffer);
 * v.setUint32(0, 0x1000, true); // p2m_size
 * v.setInt32(4, -9, true); // last_checkpoint: octets 4-7 < 0, so 32-bit HVM
 * // chunk 0 (end) at 8, magic pfns at 12, context size at 36, then the HVM save header
 * v.setUint32(36, 32, true);
 * v.setUint16(40, 1, true); // HEADER
 * v.setUint32(44, 24, true);
 * v.setUint32(48, 0x54381286, true); // HVM_FILE_MAGIC
 * const d = detectLegacyLayout(image);
 * console.assert(d.width === 32 && d.guestType === "hvm");
 * ```
 */
export function detectLegacyLayout(
  window: Uint8Array,
  known: Partial<LegacyLayout> = {},
  offset = 0,
): LegacyDetection {
  let width = known.width;
  let widthReason: string | undefined;
  if (width === undefined) {
    if (window.length < 8) {
      throw new TruncatedError(offset, 8, window.length, "legacy image (width detection)");
    }
    const word = new DataView(window.buffer, window.byteOffset + 4, 4).getUint32(0, true);
    if (word === 0) {
      width = 64;
      widthReason = "octets 4-7 are zero (the high half of a 64-bit p2m_size)";
    } else {
      width = 32;
      widthReason = `octets 4-7 are 0x${word.toString(16).padStart(8, "0")} (${
        describeWord32(word)
      })`;
    }
  }
  if (known.guestType !== undefined) return { width, guestType: known.guestType, widthReason };
  const ulong = width / 8;
  const pv = readAsPv(window, ulong, offset);
  const hvm = readAsHvm(window, ulong, offset);
  if (pv.holds && hvm.holds) {
    throw new LegacyDetectionError(
      `ambiguous guest type: the ${width}-bit image reads as PV (${pv.evidence}) ` +
        `and as HVM (${hvm.evidence}); pass -g pv or -g hvm`,
      offset,
    );
  }
  if (!pv.holds && !hvm.holds) {
    const hint = known.width === undefined ? "; pass -w and -g if it is one" : "";
    throw new LegacyDetectionError(
      `not a legacy image of a ${width}-bit toolstack` +
        (widthReason ? ` (${widthReason})` : "") +
        `: not PV (${pv.why}), not HVM (${hvm.why})${hint}`,
      offset,
    );
  }
  return pv.holds
    ? { width, guestType: "pv", widthReason, guestReason: pv.evidence }
    : { width, guestType: "hvm", widthReason, guestReason: (hvm as { evidence: string }).evidence };
}
