/**
 * A map of where the structures of a migration stream sit — headers,
 * records, their length and count fields — found by walking the raw bytes,
 * independently of the readers under test.  The mutators use it to aim at
 * the fields that size things (lengths, counts) and to cut, copy and
 * reorder whole records.
 *
 * The walk is forgiving: it maps what it can and stops at the first
 * structure that does not fit, so it also maps already-mutated streams.
 *
 * @module
 */

/** Outermost layer of a v2 stream. */
export type V2Format = "libxc" | "libxl" | "xl";

/** What a span holds. */
export type SpanKind =
  | "xl-header"
  | "libxl-header"
  | "image-header"
  | "domain-header"
  | "record"
  | "trailer";

/** One structure of a stream. */
export interface Span {
  /** What it is. */
  kind: SpanKind;
  /** Layer of a record. */
  layer?: "libxc" | "libxl";
  /** Offset of its first byte. */
  offset: number;
  /** Its size in bytes, header and padding included (may overrun a truncated input). */
  size: number;
  /** Record type. */
  type?: number;
  /** Record body length (the header's field). */
  length?: number;
}

/** A stream's spans, in order. */
export interface StreamMap {
  /** The structures found, in stream order. */
  spans: Span[];
  /** Offset where the walk stopped (the input's length if it mapped everything). */
  end: number;
}

/** Header sizes (xl fixed part, libxl, libxc image and domain headers, record header). */
export const SIZES = { xl: 48, libxl: 16, image: 24, domain: 16, record: 8 } as const;
/** libxc record types the mutators know the layout of. */
export const LIBXC = {
  END: 0,
  PAGE_DATA: 1,
  X86_PV_P2M_FRAMES: 3,
  HVM_CONTEXT: 9,
  HVM_PARAMS: 10,
  X86_CPUID_POLICY: 0x12,
  X86_MSR_POLICY: 0x13,
} as const;
/** libxl record types the mutators know. */
export const LIBXL = { END: 0, LIBXC_CONTEXT: 1, EMULATOR_XENSTORE_DATA: 2 } as const;

const XL_MAGIC = new TextEncoder().encode("Xen saved domain, xl format\n \0 \r");

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** Guesses the outer layer from the first bytes (as `detectFormat` does). */
export function guessFormat(b: Uint8Array): V2Format | undefined {
  if (b.length >= 32 && XL_MAGIC.every((x, i) => b[i] === x)) return "xl";
  if (b.length >= 8 && new TextDecoder().decode(b.subarray(0, 8)) === "LibxlFmt") return "libxl";
  if (b.length >= 8 && b.subarray(0, 8).every((x) => x === 0xff)) return "libxc";
  return undefined;
}

/**
 * Maps `bytes` as a stream of `format`.
 *
 * @example
 * ```ts
 * import { mapStream } from "./stream_map.ts";
 * const end = new Uint8Array(8); // a lone libxc END record after the headers
 * const bytes = new Uint8Array([...new Uint8Array(24).fill(0xff), ...new Uint8Array(16), ...end]);
 * const map = mapStream(bytes, "libxc");
 * console.assert(map.spans.map((s) => s.kind).join() === "image-header,domain-header,record");
 * ```
 */
export function mapStream(bytes: Uint8Array, format: V2Format): StreamMap {
  const spans: Span[] = [];
  let at = 0;
  const fits = (n: number) => at + n <= bytes.length;

  const records = (layer: "libxc" | "libxl"): boolean => {
    while (fits(SIZES.record)) {
      const type = u32(bytes, at), length = u32(bytes, at + 4);
      const size = SIZES.record + Math.ceil(length / 8) * 8;
      spans.push({ kind: "record", layer, offset: at, size, type, length });
      if (!fits(size)) return false;
      at += size;
      if (layer === "libxl" && type === LIBXL.LIBXC_CONTEXT && !libxc()) return false;
      if (type === 0) return true;
    }
    return false;
  };
  const libxc = (): boolean => {
    if (!fits(SIZES.image + SIZES.domain)) return false;
    spans.push({ kind: "image-header", offset: at, size: SIZES.image });
    at += SIZES.image;
    spans.push({ kind: "domain-header", offset: at, size: SIZES.domain });
    at += SIZES.domain;
    return records("libxc");
  };

  let complete = false;
  let layer: "libxc" | "libxl" = format === "libxl" ? "libxl" : "libxc";
  let ok = true;
  if (format === "xl") {
    if (fits(SIZES.xl)) {
      const size = SIZES.xl + u32(bytes, 44);
      spans.push({ kind: "xl-header", offset: 0, size, length: u32(bytes, 44) });
      layer = u32(bytes, 36) & 2 ? "libxl" : "libxc";
      at = size;
      ok = fits(0);
    } else ok = false;
  }
  if (ok) {
    if (layer === "libxl") {
      if (fits(SIZES.libxl)) {
        spans.push({ kind: "libxl-header", offset: at, size: SIZES.libxl });
        at += SIZES.libxl;
        complete = records("libxl");
      }
    } else complete = libxc();
  }
  if (complete && at < bytes.length) {
    spans.push({ kind: "trailer", offset: at, size: bytes.length - at });
  }
  return { spans, end: Math.min(at, bytes.length) };
}
