/**
 * Mutation of valid streams into fuzz inputs.  Each input starts from one
 * seed and gets one to four mutations, chosen and aimed by its own seeded
 * generator (so `(campaign seed, index)` regenerates it exactly):
 *
 * - bit flips and interesting bytes/words anywhere;
 * - truncation at every class of offset: record boundaries, one byte either
 *   side, inside a record header, at and inside a body, the last byte;
 * - length fields set to 0, huge, off by one or eight, the bytes left;
 * - counts inflated: PAGE_DATA and HVM_PARAMS counts, the xl optional data
 *   and config lengths, HVM context save-record lengths;
 * - PAGE_DATA pfn entries moved out of range or given other types;
 * - records duplicated, deleted, swapped, retyped, inserted, and streams
 *   spliced together at record boundaries.
 *
 * Legacy images (no v2 structure) get the structure-blind mutations and
 * "word-aware" ones aimed at 32-bit words that look like counts or chunk
 * ids.
 *
 * @module
 */

import { Rng } from "./rng.ts";
import { LIBXC, LIBXL, mapStream, type Span, type V2Format } from "./stream_map.ts";

/** Options a legacy image is converted with. */
export interface LegacyOptions {
  /** Toolstack width, or undefined to detect. */
  width?: 32 | 64;
  /** Guest type, or undefined to detect. */
  guestType?: "pv" | "hvm";
  /** An xl header precedes the image (`-x`). */
  xl?: boolean;
  /** Skip the qemu tail (`--skip-qemu`). */
  skipQemu?: boolean;
}

/** A valid stream the mutations start from. */
export interface Seed {
  /** Unique name (for reports). */
  name: string;
  /** Its format: a v2 layer, or a legacy image. */
  format: V2Format | "legacy";
  /** The bytes. */
  bytes: Uint8Array;
  /** For legacy images: how they convert. */
  legacy?: LegacyOptions;
}

/** One fuzz input. */
export interface FuzzInput {
  /** The mutated bytes. */
  bytes: Uint8Array;
  /** Format of the seed it came from. */
  format: V2Format | "legacy";
  /** Name of the seed. */
  seed: string;
  /** The mutations applied, in order (for reports). */
  ops: string[];
  /** A random word targets use to vary how they read the input (chunking, options). */
  variant: number;
  /** Legacy conversion options (legacy seeds). */
  legacy?: LegacyOptions;
}

type Mutator = (b: Uint8Array, ctx: MutationContext) => Uint8Array | undefined;

interface MutationContext {
  rng: Rng;
  format: V2Format | "legacy";
  /** Other seeds of the same family, for splices. */
  partners: readonly Seed[];
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x08, 0x0f, 0x10, 0x20, 0x40];
const INTERESTING_U32 = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  9,
  15,
  16,
  24,
  4095,
  4096,
  4097,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0xfffff,
  0x100000,
  0x0fffffff,
  0x10000000,
  0x10000001,
  0x1fffffff,
  0x20000000,
  0x7fffffff,
  0x80000000,
  0xfffffff8,
  0xfffffffe,
  0xffffffff,
];

function setU32(b: Uint8Array, at: number, value: number): void {
  if (at < 0 || at + 4 > b.length) return;
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
  b[at + 2] = (value >>> 16) & 0xff;
  b[at + 3] = (value >>> 24) & 0xff;
}

function getU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whole records that fit in the input. */
function records(b: Uint8Array, format: V2Format): Span[] {
  return mapStream(b, format).spans.filter((s) =>
    s.kind === "record" && s.offset + s.size <= b.length
  );
}

/** The values a length or count field is set to: edge cases around `current` and absolutes. */
function lengthValue(rng: Rng, current: number, left: number): number {
  switch (rng.below(6)) {
    case 0:
      return 0;
    case 1:
      return current + rng.pick([1, -1, 8, -8, 2, -2, 4, -4]);
    case 2:
      return rng.pick([left, left + 1, left - 1, left + 8, 2 * left]);
    case 3:
      return current * rng.range(2, 16);
    case 4:
      return rng.pick(INTERESTING_U32);
    default:
      return rng.u32() >>> rng.below(32);
  }
}

// ------------------------------------------------------------ blind

const flipBits: Mutator = (b, { rng }) => {
  if (b.length === 0) return undefined;
  const out = b.slice();
  for (let n = rng.range(1, 8); n > 0; n--) out[rng.below(out.length)] ^= 1 << rng.below(8);
  return out;
};

const interestingBytes: Mutator = (b, { rng }) => {
  if (b.length === 0) return undefined;
  const out = b.slice();
  for (let n = rng.range(1, 4); n > 0; n--) {
    out[rng.below(out.length)] = rng.pick(INTERESTING_BYTES);
  }
  return out;
};

const interestingWord: Mutator = (b, { rng }) => {
  if (b.length < 4) return undefined;
  const out = b.slice();
  const at = rng.chance(0.7)
    ? rng.below(Math.floor(out.length / 4)) * 4
    : rng.below(out.length - 3);
  setU32(out, at, rng.pick(INTERESTING_U32));
  return out;
};

/** Aims at 32-bit words that look like counts, lengths or (negative) chunk ids. */
const countLikeWord: Mutator = (b, { rng }) => {
  const candidates: number[] = [];
  const from = rng.below(Math.max(1, b.length >> 2)) << 2; // scan a random window
  for (let at = from; at + 4 <= b.length && candidates.length < 256; at += 4) {
    const v = getU32(b, at);
    if ((v > 0 && v <= 0x100000) || v >= 0xffffffe0) candidates.push(at);
  }
  if (candidates.length === 0) return undefined;
  const out = b.slice();
  const at = rng.pick(candidates);
  const v = getU32(out, at);
  setU32(
    out,
    at,
    v >= 0xffffffe0
      ? rng.pick([v - 1, v + 1, 0xffffffff - rng.below(32), 0])
      : lengthValue(rng, v, b.length - at),
  );
  return out;
};

const truncateAnywhere: Mutator = (b, { rng }) => {
  if (b.length === 0) return undefined;
  const cut = rng.chance(0.5)
    ? rng.below(b.length)
    : b.length - rng.range(1, Math.min(b.length, 64));
  return b.slice(0, cut);
};

const duplicateChunk: Mutator = (b, { rng }) => {
  if (b.length < 8) return undefined;
  const from = rng.below(b.length - 1);
  const len = rng.range(1, Math.min(4096, b.length - from));
  const to = rng.below(b.length + 1);
  return concat(b.subarray(0, to), b.subarray(from, from + len), b.subarray(to));
};

const deleteChunk: Mutator = (b, { rng }) => {
  if (b.length < 8) return undefined;
  const from = rng.below(b.length - 1);
  const len = rng.range(1, Math.min(4096, b.length - from));
  return concat(b.subarray(0, from), b.subarray(from + len));
};

const appendGarbage: Mutator = (b, { rng }) => {
  const extra = new Uint8Array(rng.range(1, 64));
  for (let i = 0; i < extra.length; i++) extra[i] = rng.chance(0.5) ? 0 : rng.below(256);
  return concat(b, extra);
};

const spliceBlind: Mutator = (b, { rng, partners }) => {
  if (partners.length === 0 || b.length === 0) return undefined;
  const other = rng.pick(partners).bytes;
  if (other.length === 0) return undefined;
  const cutA = rng.below(b.length), cutB = rng.below(other.length);
  return concat(b.subarray(0, cutA), other.subarray(cutB));
};

// ------------------------------------------------------------ v2 structure

/** Truncates at a record boundary, one byte either side, inside its header or body. */
const truncateAtStructure: Mutator = (b, { rng, format }) => {
  const spans = mapStream(b, format as V2Format).spans;
  if (spans.length === 0) return undefined;
  const s = rng.pick(spans);
  const body = s.kind === "record" ? 8 : 0;
  const candidates = [
    s.offset,
    s.offset - 1,
    s.offset + 1,
    s.offset + 4,
    s.offset + 7,
    s.offset + body,
    s.offset + body + 1,
    s.offset + Math.floor(s.size / 2),
    s.offset + s.size - 1,
    s.offset + s.size,
    s.offset + s.size + 1,
  ];
  const cut = rng.pick(candidates);
  if (cut < 0 || cut >= b.length) return undefined;
  return b.slice(0, cut);
};

/** Sets a record's (or the xl header's optional data) length field. */
const setLength: Mutator = (b, { rng, format }) => {
  const spans = mapStream(b, format as V2Format).spans.filter((s) =>
    s.kind === "record" || s.kind === "xl-header"
  );
  if (spans.length === 0) return undefined;
  const s = rng.pick(spans);
  const out = b.slice();
  const field = s.kind === "xl-header" ? s.offset + 44 : s.offset + 4;
  const bodyAt = s.kind === "xl-header" ? s.offset + 48 : s.offset + 8;
  setU32(out, field, lengthValue(rng, s.length ?? 0, b.length - bodyAt));
  return out;
};

/** Changes a record's type: another known type, an optional bit, or anything. */
const setType: Mutator = (b, { rng, format }) => {
  const recs = records(b, format as V2Format);
  if (recs.length === 0) return undefined;
  const s = rng.pick(recs);
  const out = b.slice();
  const known = s.layer === "libxl" ? 6 : 0x14;
  const type = rng.chance(0.6)
    ? rng.below(known)
    : rng.chance(0.5)
    ? (0x80000000 | rng.below(known)) >>> 0
    : rng.pick(INTERESTING_U32);
  setU32(out, s.offset, type);
  return out;
};

const duplicateRecord: Mutator = (b, { rng, format }) => {
  const recs = records(b, format as V2Format);
  if (recs.length === 0) return undefined;
  const s = rng.pick(recs);
  const copy = b.subarray(s.offset, s.offset + s.size);
  const same = recs.filter((r) => r.layer === s.layer);
  const at = rng.chance(0.5) ? s.offset + s.size : rng.pick(same).offset;
  const times = rng.chance(0.9) ? 1 : rng.range(2, 64);
  const copies = new Array<Uint8Array>(times).fill(copy);
  return concat(b.subarray(0, at), ...copies, b.subarray(at));
};

const deleteRecord: Mutator = (b, { rng, format }) => {
  const recs = records(b, format as V2Format);
  if (recs.length === 0) return undefined;
  const s = rng.pick(recs);
  return concat(b.subarray(0, s.offset), b.subarray(s.offset + s.size));
};

const swapRecords: Mutator = (b, { rng, format }) => {
  const recs = records(b, format as V2Format);
  if (recs.length < 2) return undefined;
  const a = rng.pick(recs);
  const peers = recs.filter((r) => r.layer === a.layer && r !== a);
  if (peers.length === 0) return undefined;
  const c = rng.pick(peers);
  const [x, y] = a.offset < c.offset ? [a, c] : [c, a];
  if (x.offset + x.size > y.offset) return undefined; // nested (LIBXC_CONTEXT)
  return concat(
    b.subarray(0, x.offset),
    b.subarray(y.offset, y.offset + y.size),
    b.subarray(x.offset + x.size, y.offset),
    b.subarray(x.offset, x.offset + x.size),
    b.subarray(y.offset + y.size),
  );
};

/** Inserts a record of a random (often known) type with a small random body. */
const insertRecord: Mutator = (b, { rng, format }) => {
  const spans = mapStream(b, format as V2Format).spans;
  if (spans.length === 0) return undefined;
  const s = rng.pick(spans);
  const at = Math.min(b.length, s.offset + (rng.chance(0.5) ? 0 : s.size));
  const length = rng.pick([0, 4, 8, 16, 24, rng.below(64)]);
  const rec = new Uint8Array(8 + Math.ceil(length / 8) * 8);
  setU32(rec, 0, rng.chance(0.8) ? rng.below(0x14) : rng.u32());
  setU32(rec, 4, length);
  for (let i = 8; i < 8 + length; i++) rec[i] = rng.chance(0.5) ? 0 : rng.below(256);
  return concat(b.subarray(0, at), rec, b.subarray(at));
};

/** Prefix of this stream up to a record, then another stream from one of its records. */
const spliceRecords: Mutator = (b, { rng, format, partners }) => {
  if (partners.length === 0) return undefined;
  const other = rng.pick(partners);
  const mine = mapStream(b, format as V2Format).spans;
  const theirs = mapStream(other.bytes, other.format as V2Format).spans;
  if (mine.length === 0 || theirs.length === 0) return undefined;
  const cutA = rng.pick(mine).offset, cutB = rng.pick(theirs).offset;
  return concat(b.subarray(0, cutA), other.bytes.subarray(cutB));
};

/** Inflates or zeroes a count inside a record body, or the xl config length. */
const setCount: Mutator = (b, { rng, format }) => {
  const spans = mapStream(b, format as V2Format).spans.filter((s) =>
    s.offset + s.size <= b.length && (
      (s.kind === "xl-header" && (s.length ?? 0) >= 4) ||
      (s.kind === "record" && s.layer === "libxc" &&
        (s.type === LIBXC.PAGE_DATA || s.type === LIBXC.HVM_PARAMS ||
          s.type === LIBXC.X86_PV_P2M_FRAMES || s.type === LIBXC.HVM_CONTEXT))
    )
  );
  if (spans.length === 0) return undefined;
  const s = rng.pick(spans);
  const out = b.slice();
  if (s.kind === "xl-header") {
    setU32(out, s.offset + 48, lengthValue(rng, getU32(b, s.offset + 48), (s.length ?? 4) - 4));
    return out;
  }
  const body = s.offset + 8;
  if (s.type === LIBXC.HVM_CONTEXT) {
    // Walk the save-record descriptors and resize one of them.
    const descriptors: number[] = [];
    for (let at = body; at + 8 <= body + (s.length ?? 0) && descriptors.length < 256;) {
      descriptors.push(at);
      const len = getU32(b, at + 4);
      if (b[at] === 0 && b[at + 1] === 0) break;
      at += 8 + len;
    }
    if (descriptors.length === 0) return undefined;
    const d = rng.pick(descriptors);
    if (rng.chance(0.2)) out[d] = rng.below(32); // typecode
    else setU32(out, d + 4, lengthValue(rng, getU32(b, d + 4), body + (s.length ?? 0) - d - 8));
    return out;
  }
  const field = s.type === LIBXC.X86_PV_P2M_FRAMES ? body + 4 * rng.below(2) : body;
  const entry = s.type === LIBXC.PAGE_DATA ? 8 : s.type === LIBXC.HVM_PARAMS ? 16 : 1;
  const current = getU32(b, field);
  const room = Math.floor(((s.length ?? 0) - 8) / entry);
  setU32(
    out,
    field,
    rng.chance(0.5)
      ? rng.pick([current + 1, current - 1, room, room + 1, 0])
      : lengthValue(rng, current, room),
  );
  return out;
};

/** Moves a PAGE_DATA pfn out of range, or changes its type or reserved bits. */
const mutatePfn: Mutator = (b, { rng, format }) => {
  const pages = records(b, format as V2Format).filter((s) =>
    s.layer === "libxc" && s.type === LIBXC.PAGE_DATA && (s.length ?? 0) >= 16
  );
  if (pages.length === 0) return undefined;
  const s = rng.pick(pages);
  const body = s.offset + 8;
  const count = Math.min(getU32(b, body), Math.floor(((s.length ?? 0) - 8) / 8));
  if (count === 0) return undefined;
  const entry = body + 8 + 8 * rng.below(count);
  const out = b.slice();
  const hi = getU32(b, entry + 4);
  switch (rng.below(4)) {
    case 0: { // pfn: the 52-bit maximum, 4 GiB, 16 GiB (the simulator's space), just below
      const pfn = rng.pick([
        0xfffffffffffff,
        0x100000,
        0xfffff,
        0x3fffff,
        0x400000,
        0x3ffff,
        0x40000,
        0xfeff8,
        0xfffffffff,
        rng.u32(),
      ]);
      setU32(out, entry, pfn % 0x100000000);
      setU32(out, entry + 4, (hi & 0xfff00000) | Math.floor(pfn / 0x100000000));
      break;
    }
    case 1: // type
      setU32(out, entry + 4, (hi & 0x0fffffff) | (rng.below(16) << 28));
      break;
    case 2: // reserved bits
      setU32(out, entry + 4, hi | (1 << (20 + rng.below(8))));
      break;
    default: // same pfn as another entry
      setU32(out, entry, getU32(b, body + 8 + 8 * rng.below(count)));
  }
  return out;
};

/** Breaks xenstore data: drops the final NUL, adds an odd string, bad UTF-8. */
const mutateXenstore: Mutator = (b, { rng, format }) => {
  const recs = records(b, format as V2Format).filter((s) =>
    s.layer === "libxl" && s.type === LIBXL.EMULATOR_XENSTORE_DATA && (s.length ?? 0) > 8
  );
  if (recs.length === 0) return undefined;
  const s = rng.pick(recs);
  const out = b.slice();
  const last = s.offset + 8 + (s.length ?? 0) - 1;
  switch (rng.below(3)) {
    case 0:
      out[last] = 0x41;
      break;
    case 1:
      out[s.offset + 8 + 8 + rng.below((s.length ?? 9) - 8)] = rng.pick([0, 0xc3, 0xff, 0x80]);
      break;
    default:
      out[s.offset + 8 + 4] = rng.below(4); // emulator index / id byte
  }
  return out;
};

const CONFIG_VALUES = [
  "0",
  "-1",
  "1",
  "2",
  "129",
  "1.5",
  "1e400",
  "2147483648",
  "4294967297",
  "16777216", // 16 GiB in KiB: the simulator's whole pfn space
  "16777217",
  "17179869184", // 16 TiB in KiB
  "9007199254740993",
  '"65536"',
  "null",
  "[]",
];

/**
 * Rewrites a number of the xl header's JSON config (memory sizes, vcpus:
 * what restore sizes the domain from), fixing up both length fields.
 */
const mutateConfig: Mutator = (b, { rng, format }) => {
  const xl = mapStream(b, format as V2Format).spans.find((s) => s.kind === "xl-header");
  if (!xl || (xl.length ?? 0) < 4 || xl.offset + xl.size > b.length) return undefined;
  const dataAt = xl.offset + 48;
  const len = getU32(b, dataAt);
  if (4 + len > (xl.length ?? 0)) return undefined;
  const text = new TextDecoder().decode(b.subarray(dataAt + 4, dataAt + 4 + len));
  const numbers = [...text.matchAll(/"(max_memkb|target_memkb|max_vcpus)"\s*:\s*(-?[0-9.e+]+)/g)];
  if (numbers.length === 0) return undefined;
  const m = rng.pick(numbers);
  const at = m.index! + m[0].length - m[2].length;
  const next = text.slice(0, at) + rng.pick(CONFIG_VALUES) + text.slice(at + m[2].length);
  const config = new TextEncoder().encode(next);
  const head = b.slice(0, dataAt + 4);
  setU32(head, 44, 4 + config.length + ((xl.length ?? 0) - 4 - len));
  setU32(head, dataAt, config.length);
  return concat(head, config, b.subarray(dataAt + 4 + len));
};

const BLIND: readonly [Mutator, string, number][] = [
  [flipBits, "flip", 6],
  [interestingBytes, "bytes", 4],
  [interestingWord, "word", 4],
  [countLikeWord, "count-word", 4],
  [truncateAnywhere, "truncate", 3],
  [duplicateChunk, "dup-chunk", 1],
  [deleteChunk, "del-chunk", 1],
  [appendGarbage, "append", 1],
  [spliceBlind, "splice-blind", 2],
];

const STRUCTURED: readonly [Mutator, string, number][] = [
  [truncateAtStructure, "truncate-at", 5],
  [setLength, "length", 6],
  [setType, "type", 3],
  [duplicateRecord, "dup-record", 3],
  [deleteRecord, "del-record", 3],
  [swapRecords, "swap-records", 3],
  [insertRecord, "insert-record", 2],
  [spliceRecords, "splice", 3],
  [setCount, "count", 6],
  [mutatePfn, "pfn", 5],
  [mutateXenstore, "xenstore", 1],
  [mutateConfig, "config", 2],
];

function weighted(table: readonly [Mutator, string, number][]): [Mutator, string][] {
  return table.flatMap(([m, name, w]) => new Array(w).fill([m, name]));
}

const V2_TABLE = weighted([...BLIND, ...STRUCTURED]);
const LEGACY_TABLE = weighted(BLIND.map(([m, n, w]) => [m, n, n === "count-word" ? 10 : w]));

/**
 * Builds input `index` of the campaign `seed` from `seeds`: picks a seed,
 * applies one to four mutations.  Deterministic in `(seeds, seed, index)`.
 *
 * @example
 * ```ts
 * import { generateInput } from "./mutators.ts";
 * const seeds = [{ name: "s", format: "libxc" as const, bytes: new Uint8Array(48).fill(0xff) }];
 * const a = generateInput(seeds, 1, 5), b = generateInput(seeds, 1, 5);
 * console.assert(a.bytes.join() === b.bytes.join() && a.ops.join() === b.ops.join());
 * ```
 */
export function generateInput(seeds: readonly Seed[], seed: number, index: number): FuzzInput {
  const rng = Rng.forInput(seed, index);
  const base = rng.pick(seeds);
  const legacy = base.format === "legacy";
  const partners = seeds.filter((s) => (s.format === "legacy") === legacy && s !== base);
  const ctx: MutationContext = { rng, format: base.format, partners };
  const table = legacy ? LEGACY_TABLE : V2_TABLE;
  let bytes = base.bytes;
  const ops: string[] = [];
  const rounds = rng.chance(0.5) ? 1 : rng.range(2, 4);
  for (let tries = 0; ops.length < rounds && tries < 16; tries++) {
    const [mutate, name] = rng.pick(table);
    const next = mutate(bytes, ctx);
    if (next === undefined) continue;
    bytes = next;
    ops.push(name);
  }
  if (bytes === base.bytes) bytes = base.bytes.slice();
  return {
    bytes,
    format: base.format,
    seed: base.name,
    ops,
    variant: rng.u32(),
    legacy: base.legacy,
  };
}
