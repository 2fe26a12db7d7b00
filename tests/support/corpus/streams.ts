/**
 * Lays out whole streams — a libxc image, a libxl stream with nested libxc
 * images, an xl save file — as labelled {@linkcode Segment}s, so tests can
 * find where each structure starts (for expected error offsets) and cut a
 * stream inside any of them (truncation).
 *
 * @module
 */

import { concat, pack, text } from "./bytes.ts";
import { LIBXL, type Rec, recordContentBytes, recordHeaderBytes } from "./records.ts";

/** A labelled run of bytes in a built stream. */
export interface Segment {
  /** What the bytes are, e.g. `"libxc record header (type 0x1)"`. */
  label: string;
  /** The bytes. */
  bytes: Uint8Array;
  /** The tag of the record these bytes belong to, if it had one. */
  tag?: string;
}

/** Image header fields (`!QIIHHI`). */
export interface ImageHeaderSpec {
  /** Marker, all ones. */
  marker?: bigint;
  /** "XENF". */
  id?: number;
  /** 2 or 3. */
  version?: number;
  /** Options (bit 0: big endian). */
  options?: number;
  /** Reserved u16. */
  res1?: number;
  /** Reserved u32. */
  res2?: number;
}

/** The 24-byte libxc image header (network byte order). */
export function imageHeader(h: ImageHeaderSpec = {}): Uint8Array {
  return pack(
    "!QIIHHI",
    h.marker ?? 0xffffffffffffffffn,
    h.id ?? 0x58454e46,
    h.version ?? 3,
    h.options ?? 0,
    h.res1 ?? 0,
    h.res2 ?? 0,
  );
}

/** Domain types. */
export const DOMAIN = { PV: 1, HVM: 2 } as const;

/** Domain header fields (`<IHHII`). */
export interface DomainHeaderSpec {
  /** 1 PV, 2 HVM. */
  type?: number;
  /** 12. */
  pageShift?: number;
  /** Reserved u16. */
  res?: number;
  /** Xen major (0: legacy converted). */
  major?: number;
  /** Xen minor. */
  minor?: number;
}

/** The 16-byte libxc domain header. */
export function domainHeader(h: DomainHeaderSpec = {}): Uint8Array {
  return pack(
    "<IHHII",
    h.type ?? DOMAIN.HVM,
    h.pageShift ?? 12,
    h.res ?? 0,
    h.major ?? 4,
    h.minor ?? 17,
  );
}

/** The 16-byte libxl header (`!QII`). */
export function libxlHeader(
  h: { ident?: bigint; version?: number; options?: number } = {},
): Uint8Array {
  return pack("!QII", h.ident ?? 0x4c6962786c466d74n, h.version ?? 2, h.options ?? 0);
}

/** libxl header option: converted from a legacy stream. */
export const LIBXL_OPT_LEGACY = 2;

/** The xl magic. */
export const XL_MAGIC = text("Xen saved domain, xl format\n \0 \r");
/** xl mandatory flags. */
export const XL_FLAG = { JSON: 1, STREAMV2: 2, COLO: 4 } as const;

/** xl header fields. */
export interface XlHeaderSpec {
  /** 32-byte magic. */
  magic?: Uint8Array;
  /** Byte-order word (0x01020304 when saved little endian). */
  byteorder?: number;
  /** Mandatory flags. */
  mflags?: number;
  /** Optional flags. */
  oflags?: number;
  /** Optional data length, when it should differ from the data given. */
  optlen?: number;
  /** Optional data (xl: u32 length + config). */
  optional?: Uint8Array;
}

/** xl's optional data: u32 length, then the config with its NUL. */
export function xlConfig(config: string): Uint8Array {
  const bytes = text(config + "\0");
  return concat(pack("<I", bytes.length), bytes);
}

/** A small libxl domain config, as `xl save` writes it (JSON). */
export const DOMAIN_CONFIG_JSON = JSON.stringify({
  c_info: { type: "hvm", name: "corpus-guest", uuid: "5d4a0a1e-0c5b-4b5e-9e3a-1f2b3c4d5e6f" },
  b_info: { max_vcpus: 2, max_memkb: 131072, target_memkb: 131072 },
});

/** An libxc image to lay out. */
export interface ImageSpec {
  /** Image header overrides. */
  ihdr?: ImageHeaderSpec;
  /** Domain header overrides. */
  dhdr?: DomainHeaderSpec;
  /** The records, END included (nothing is added). */
  records: readonly Rec[];
}

/** One entry of a libxl stream: a record, or a LIBXC_CONTEXT with its image. */
export type LibxlEntry = Rec | { libxc: ImageSpec };

function recName(r: Rec): string {
  return `type 0x${r.type.toString(16)}`;
}

/** A record as two segments: its header, then body + padding. */
export function recordSegments(r: Rec): Segment[] {
  return [
    { label: `${r.layer} record header (${recName(r)})`, bytes: recordHeaderBytes(r), tag: r.tag },
    { label: `${r.layer} record body (${recName(r)})`, bytes: recordContentBytes(r), tag: r.tag },
  ];
}

/** A libxc image: image header, domain header, records. */
export function libxcSegments(img: ImageSpec): Segment[] {
  return [
    { label: "libxc image header", bytes: imageHeader(img.ihdr) },
    { label: "libxc domain header", bytes: domainHeader(img.dhdr) },
    ...img.records.flatMap(recordSegments),
  ];
}

/** A libxl stream: header, then records; `{libxc}` entries become LIBXC_CONTEXT + image. */
export function libxlSegments(
  entries: readonly LibxlEntry[],
  hdr: { ident?: bigint; version?: number; options?: number } = {},
): Segment[] {
  return [
    { label: "libxl header", bytes: libxlHeader(hdr) },
    ...entries.flatMap((e) =>
      "libxc" in e
        ? [
          ...recordSegments({ layer: "libxl", type: LIBXL.LIBXC_CONTEXT, body: new Uint8Array(0) }),
          ...libxcSegments(e.libxc),
        ]
        : recordSegments(e)
    ),
  ];
}

/** An xl save file around `inner` (a libxl stream with STREAMv2, else libxc). */
export function xlSegments(h: XlHeaderSpec, inner: readonly Segment[]): Segment[] {
  const optional = h.optional ?? new Uint8Array(0);
  return [
    { label: "xl magic", bytes: h.magic ?? XL_MAGIC },
    {
      label: "xl header words",
      bytes: pack(
        "<IIII",
        h.byteorder ?? 0x01020304,
        h.mflags ?? 0,
        h.oflags ?? 0,
        h.optlen ?? optional.length,
      ),
    },
    ...(optional.length ? [{ label: "xl optional data", bytes: optional }] : []),
    ...inner,
  ];
}

/** The bytes of a laid-out stream. */
export function join(segments: readonly Segment[]): Uint8Array {
  return concat(...segments.map((s) => s.bytes));
}

/** Offset of the first segment matching `match` (a tag, or a label predicate). */
export function offsetOf(
  segments: readonly Segment[],
  match: string | ((s: Segment) => boolean),
): number {
  const pred = typeof match === "string" ? (s: Segment) => s.tag === match : match;
  let at = 0;
  for (const s of segments) {
    if (pred(s)) return at;
    at += s.bytes.length;
  }
  throw new Error(
    `no segment matches ${typeof match === "string" ? `tag '${match}'` : "predicate"}`,
  );
}
