/**
 * A fixture tool (not product code): writes legacy (pre-Xen 4.6) save
 * images for 32- and 64-bit toolstacks, PV and HVM, field by field, so tests
 * can feed them to Xen's `convert-legacy-stream` and to ours.  It writes
 * whatever it is told, valid or not — invalid images are built the same way.
 *
 * @module
 */

import { encodeHvmContext, HVM_FILE_MAGIC, HVM_SAVE_TYPE } from "../../lib/libxc/hvm_context.ts";
import { encodeXlConfigData, encodeXlHeader, XL_MANDATORY_FLAG_JSON } from "../../lib/xl/header.ts";

/** Toolstack width. */
export type Width = 32 | 64;

/** An extended-info block. */
export interface ExtBlock {
  /** Four-character id. */
  id: string;
  /** Data. */
  data: Uint8Array;
}

const XTAB_FILLER = 0xf0000000;

/** A deterministic 4096-byte page for pfn word `word` (so pages differ). */
export function page(word: number | bigint, salt = 0): Uint8Array {
  const p = new Uint8Array(4096);
  const seed = (Number(BigInt(word) & 0xffffffffn) ^ salt) >>> 0;
  let x = seed || 1;
  for (let i = 0; i < 4096; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x & 0xff;
    p[i + 1] = (x >>> 8) & 0xff;
    p[i + 2] = (x >>> 16) & 0xff;
    p[i + 3] = (x >>> 24) & 0xff;
  }
  return p;
}

/** Octets with a recognisable pattern. */
export function pattern(size: number, salt = 0): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + salt * 13 + 1) & 0xff;
  return b;
}

/** Whether a legacy pfn word carries a page (type below BROKEN, and not the filler). */
export function wordHasPage(word: number | bigint): boolean {
  const lo = Number(BigInt(word) & 0xffffffffn);
  if (BigInt(word) === BigInt(XTAB_FILLER)) return false;
  return lo >>> 28 < 0xd;
}

/** Builds a legacy image piece by piece. */
export class LegacyImageBuilder {
  readonly width: Width;
  #parts: Uint8Array[] = [];

  /** A builder for a `width`-bit toolstack. */
  constructor(width: Width) {
    this.width = width;
  }

  /** Appends raw octets. */
  raw(bytes: Uint8Array | number[]): this {
    this.#parts.push(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    return this;
  }

  #num(size: number, set: (v: DataView) => void): this {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    return this.raw(b);
  }

  /** Appends a little-endian u32. */
  u32(v: number): this {
    return this.#num(4, (d) => d.setUint32(0, v >>> 0, true));
  }

  /** Appends a little-endian i32. */
  i32(v: number): this {
    return this.#num(4, (d) => d.setInt32(0, v, true));
  }

  /** Appends a little-endian u64. */
  u64(v: number | bigint): this {
    return this.#num(8, (d) => d.setBigUint64(0, BigInt(v), true));
  }

  /** Appends an `unsigned long` of the toolstack. */
  ulong(v: number | bigint): this {
    return this.width === 64 ? this.u64(v) : this.u32(Number(BigInt(v) & 0xffffffffn));
  }

  /** Appends ASCII text (no terminator). */
  ascii(s: string): this {
    return this.raw(new Uint8Array([...s].map((c) => c.charCodeAt(0))));
  }

  /** The first word: `p2m_size`. */
  p2mSize(n: number | bigint): this {
    return this.ulong(n);
  }

  /** PV extended info: signature, total length (computed unless given), blocks. */
  extendedInfo(blocks: ExtBlock[], totalLength?: number): this {
    this.ulong(this.width === 64 ? 0xffffffffffffffffn : 0xffffffff);
    this.u32(totalLength ?? blocks.reduce((n, b) => n + 8 + b.data.length, 0));
    for (const b of blocks) this.ascii(b.id).u32(b.data.length).raw(b.data);
    return this;
  }

  /** The PV p2m frame list. */
  p2mFrames(frames: readonly (number | bigint)[]): this {
    for (const f of frames) this.ulong(f);
    return this;
  }

  /** A page batch: count, pfn words, then a page for each word with data. */
  batch(words: readonly (number | bigint)[], pageOf = (w: number | bigint) => page(w)): this {
    this.i32(words.length);
    for (const w of words) this.ulong(w);
    for (const w of words) if (wordHasPage(w)) this.raw(pageOf(w));
    return this;
  }

  /** A chunk type with an optional raw payload. */
  chunk(type: number, payload?: Uint8Array): this {
    this.i32(type);
    return payload ? this.raw(payload) : this;
  }

  /** `vcpu_info`: max id and the bitmap of `online`. */
  vcpuInfo(maxId: number, online: readonly number[]): this {
    this.i32(-2).i32(maxId);
    const words = Math.max(0, Math.floor(maxId / 64) + 1);
    const map = new Array<bigint>(words).fill(0n);
    for (const id of online) map[Math.floor(id / 64)] |= 1n << BigInt(id % 64);
    for (const w of map) this.u64(w);
    return this;
  }

  /** An HVM parameter chunk (`"=IQ"`: padding word, value). */
  hvmParam(type: number, value: number | bigint, pad = 0): this {
    return this.i32(type).u32(pad).u64(value);
  }

  /** `tsc_info` (`"=IQII"`). */
  tscInfo(mode: number, nsec: bigint, khz: number, incarnation: number): this {
    return this.i32(-7).u32(mode).u64(nsec).u32(khz).u32(incarnation);
  }

  /** `toolstack`: size, data. */
  toolstack(data: Uint8Array): this {
    return this.i32(-18).u32(data.length).raw(data);
  }

  /** Chunk 0: end of the body. */
  end(): this {
    return this.i32(0);
  }

  /** The PV tail. */
  pvTail(t: {
    unmapped?: readonly (number | bigint)[];
    vcpus: {
      basic: Uint8Array;
      extended?: Uint8Array;
      xsave?: { mask: bigint; data: Uint8Array; size?: number };
    }[];
    shinfo?: Uint8Array;
  }): this {
    const unmapped = t.unmapped ?? [];
    this.u32(unmapped.length);
    for (const p of unmapped) this.ulong(p);
    for (const v of t.vcpus) {
      this.raw(v.basic);
      if (v.extended) this.raw(v.extended);
      if (v.xsave) {
        this.u64(v.xsave.mask).u64(v.xsave.size ?? v.xsave.data.length).raw(v.xsave.data);
      }
    }
    return this.raw(t.shinfo ?? pattern(4096, 99));
  }

  /** The HVM tail: magic pfns, context. */
  hvmTail(t: { ioreq: bigint; bufioreq: bigint; store: bigint; context: Uint8Array }): this {
    return this.u64(t.ioreq).u64(t.bufioreq).u64(t.store).u32(t.context.length).raw(t.context);
  }

  /** The qemu record: signature, length, data. */
  qemu(data: Uint8Array, signature = "DeviceModelRecord0002"): this {
    return this.ascii(signature).u32(data.length).raw(data);
  }

  /** The image. */
  build(): Uint8Array {
    const size = this.#parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** One physmap entry of libxl's toolstack chunk. */
export interface PhysmapEntry {
  /** `phys_offset`. */
  phys: bigint;
  /** `start_addr`. */
  start: bigint;
  /** `size`. */
  size: bigint;
  /** The name, NUL included (or not, for invalid fixtures). */
  name: Uint8Array;
  /** Overrides `namelen`. */
  namelen?: number;
}

/** libxl's toolstack data (version 1 unless given), with the 64-bit name padding. */
export function physmapToolstack(
  width: Width,
  entries: PhysmapEntry[],
  version = 1,
  count?: number,
): Uint8Array {
  const b = new LegacyImageBuilder(64).u32(version).u32(count ?? entries.length);
  for (const e of entries) {
    b.u64(e.phys).u64(e.start).u64(e.size).u32(e.namelen ?? e.name.length).raw(e.name);
    if (width === 64) b.raw([0xde, 0xad, 0xbe, 0xef]); // The leaked structure padding.
  }
  return b.build();
}

/** A NUL-terminated name. */
export function cname(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

/** A realistic HVM context: the HVM save header, a CPU record per vcpu, END. */
export function hvmContext(vcpus = 1, extra = 0): Uint8Array {
  const header = new Uint8Array(24);
  const v = new DataView(header.buffer);
  v.setUint32(0, HVM_FILE_MAGIC, true);
  v.setUint32(4, 1, true); // version
  v.setBigUint64(8, 0x1234n, true); // changeset
  v.setUint32(16, 0x306c3, true); // cpuid
  v.setUint32(20, 2400000, true); // gtsc_khz
  const records: { typecode: number; instance: number; data: Uint8Array }[] = [
    { typecode: HVM_SAVE_TYPE.HEADER, instance: 0, data: header },
  ];
  for (let i = 0; i < vcpus; i++) {
    records.push({ typecode: HVM_SAVE_TYPE.CPU, instance: i, data: pattern(1024 + extra, i) });
  }
  return encodeHvmContext(records);
}

/** An xl save-file header with a JSON config (xl writes its terminating NUL). */
export function xlHeader(
  mandatoryFlags = XL_MANDATORY_FLAG_JSON,
  config = '{"c_info":{"name":"legacy"}}\0',
): Uint8Array {
  return encodeXlHeader({ mandatoryFlags }, encodeXlConfigData(config));
}

/** A vcpu context of a guest of `guestWidth` octets (the legacy `vcpu` block sizes). */
export function vcpuContext(guestWidth: 4 | 8, salt: number): Uint8Array {
  return pattern(guestWidth === 8 ? 0x1430 : 0xaf0, salt);
}

/** p2m frame list entries for `p2mSize` and a guest of `guestWidth` octets. */
export function framesFor(p2mSize: number, guestWidth: 4 | 8): number[] {
  const fpp = 4096 / guestWidth;
  const n = Math.floor((p2mSize - 1) / fpp) + 1;
  return Array.from({ length: n }, (_, i) => 0x10000 + i * 3);
}

export { XTAB_FILLER };
