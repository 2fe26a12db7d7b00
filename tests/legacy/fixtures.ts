/**
 * The legacy images the differential tests convert with Xen's script and
 * with ours: valid PV and HVM images of 32- and 64-bit toolstacks covering
 * every feature of the format, quirks Xen passes through, and the invalid
 * images Xen's script rejects — each with the exit codes Xen 4.17 gives.
 *
 * @module
 */

import {
  cname,
  type ExtBlock,
  framesFor,
  hvmContext,
  LegacyImageBuilder,
  page,
  pattern,
  type PhysmapEntry,
  physmapToolstack,
  vcpuContext,
  type Width,
  xlHeader,
  XTAB_FILLER,
} from "./legacy_builder.ts";

/** Exit code of a conversion. */
export type Code = 0 | 1 | 2;

/** One legacy image and what converting it must do. */
export interface Fixture {
  /** Unique name. */
  name: string;
  /** Toolstack width (passed as `-w`). */
  width: Width;
  /** Guest type (passed as `-g`). */
  guest: "pv" | "hvm";
  /** The image. */
  bytes: Uint8Array;
  /** Further flags for both converters (`-x`, `--skip-qemu`). */
  flags?: string[];
  /** Exit code of Xen 4.17's script (and so of ours) per output format. */
  expect: { libxc: Code; libxl: Code };
  /** Xen's script needs this Python 3 fix to produce the reference output. */
  xenFix?: "xl" | "utf8";
  /** A quirk Xen passes through: the output is not expected to verify. */
  unverifiable?: boolean;
  /** Detection must leave it alone: a quirk no saver writes (needs `-w`/`-g`). */
  undetectable?: boolean;
}

const ok = { libxc: 0, libxl: 0 } as const;
const bad = { libxc: 1, libxl: 1 } as const;
const unsupported = { libxc: 2, libxl: 2 } as const;

// ---------------------------------------------------------------- PV

interface PvOptions {
  width: Width;
  guestWidth: 4 | 8;
  p2mSize?: number;
  extv?: boolean;
  xsaveLen?: number;
  maxVcpuId?: number;
  online?: number[];
  blocks?: ExtBlock[];
  totalLength?: number;
  frames?: number[];
  body?: (b: LegacyImageBuilder) => void;
  tail?: (b: LegacyImageBuilder) => void;
  unmapped?: number[];
  xl?: boolean;
}

/** PV page batches with every page type a saver writes, and fillers. */
function pvBody(b: LegacyImageBuilder, maxVcpuId: number, online: number[]): void {
  b.batch([
    0x00000000, // NOTAB
    0xc0000001, // L4TAB | LPINTAB
    0xb0000002, // L3TAB | LPINTAB
    0x20000003, // L2TAB
    0x10000004, // L1TAB
    0x90000005, // L1TAB | LPINTAB
    0xa0000006, // L2TAB | LPINTAB
    0x40000007, // L4TAB
    0x30000008, // L3TAB
    XTAB_FILLER,
    XTAB_FILLER,
    0xe0000009, // XALLOC: no data
    0xd000000a, // BROKEN: no data
    0xf000000b, // XTAB of a real pfn: kept, no data
    0x0000000c,
  ]);
  b.tscInfo(1, 123456789012n, 2400000, 3);
  b.batch(Array.from({ length: 16 }, (_, i) => 0x10 + i));
  b.chunk(-1); // enable_verify_mode
  b.batch([0x10, 0x11, XTAB_FILLER]); // pages sent again
  b.vcpuInfo(maxVcpuId, online);
  b.toolstack(new Uint8Array(0));
  b.chunk(-9); // last_checkpoint
  b.end();
}

function pvImage(o: PvOptions): Uint8Array {
  const b = new LegacyImageBuilder(o.width);
  if (o.xl) b.raw(xlHeader());
  const p2mSize = o.p2mSize ?? 0x400;
  const online = o.online ?? [0];
  const maxVcpuId = o.maxVcpuId ?? Math.max(...online, 0);
  const blocks = o.blocks ?? [
    { id: "vcpu", data: pattern(o.guestWidth === 8 ? 0x1430 : 0xaf0) },
    ...(o.extv ? [{ id: "extv", data: new Uint8Array(0) }] : []),
    ...(o.xsaveLen
      ? [{ id: "xcnt", data: new LegacyImageBuilder(64).u32(o.xsaveLen).u32(0).build() }]
      : []),
  ];
  b.p2mSize(p2mSize).extendedInfo(blocks, o.totalLength).p2mFrames(
    o.frames ?? framesFor(p2mSize, o.guestWidth),
  );
  (o.body ?? ((x) => pvBody(x, maxVcpuId, online)))(b);
  if (o.tail) {
    o.tail(b);
  } else {
    b.pvTail({
      unmapped: o.unmapped,
      vcpus: online.map((id) => ({
        basic: vcpuContext(o.guestWidth, id),
        extended: o.extv ? pattern(128, 50 + id) : undefined,
        xsave: o.xsaveLen ? { mask: 0x7n, data: pattern(o.xsaveLen - 16, 70 + id) } : undefined,
      })),
    });
  }
  return b.build();
}

// ---------------------------------------------------------------- HVM

interface HvmOptions {
  width: Width;
  p2mSize?: number;
  body?: (b: LegacyImageBuilder) => void;
  context?: Uint8Array;
  qemu?: Uint8Array | null;
  qemuSignature?: string;
  xl?: boolean;
  physmap?: PhysmapEntry[];
  trailer?: Uint8Array;
}

const PHYSMAP: PhysmapEntry[] = [
  { phys: 0xf0000000n, start: 0xf0000000n, size: 0x800000n, name: cname("vga.vram") },
  { phys: 0xf1000000n, start: 0xf1000000n, size: 0x10000n, name: cname("cirrus_vga.rom") },
];

/** Every HVM parameter chunk, in chunk-id order, with distinct values. */
const HVM_PARAM_CHUNKS = [-3, -4, -8, -10, -11, -14, -15, -16, -17, -19, -20];

function hvmBody(b: LegacyImageBuilder, width: Width, physmap = PHYSMAP): void {
  b.vcpuInfo(1, [0, 1]);
  b.batch([...Array.from({ length: 12 }, (_, i) => i), XTAB_FILLER, 0x100, 0xe0000101]);
  for (const [i, type] of HVM_PARAM_CHUNKS.entries()) {
    b.hvmParam(type, type === -20 ? 8 : 0xfeff0n + BigInt(i), i === 0 ? 0xabcd : 0);
  }
  b.tscInfo(0, 987654321n, 3000000, 1);
  b.batch(Array.from({ length: 8 }, (_, i) => 0x200 + i));
  b.toolstack(physmapToolstack(width, physmap));
  b.chunk(-1);
  b.chunk(-9);
  b.end();
}

function hvmImage(o: HvmOptions): Uint8Array {
  const b = new LegacyImageBuilder(o.width);
  if (o.xl) b.raw(xlHeader());
  b.p2mSize(o.p2mSize ?? 0x10000);
  (o.body ?? ((x) => hvmBody(x, o.width, o.physmap)))(b);
  b.hvmTail({
    ioreq: 0xfeff1n,
    bufioreq: 0xfeff2n,
    store: 0xfeffdn,
    context: o.context ?? hvmContext(2),
  });
  if (o.qemu !== null) b.qemu(o.qemu ?? pattern(1001, 5), o.qemuSignature);
  if (o.trailer) b.raw(o.trailer);
  return b.build();
}

/** HVM image whose body is `body` then end, for chunk-level cases. */
function hvmWith(width: Width, body: (b: LegacyImageBuilder) => void): Uint8Array {
  return hvmImage({
    width,
    body: (b) => {
      b.batch([1, 2]);
      body(b);
      b.end();
    },
  });
}

function truncate(bytes: Uint8Array, drop: number): Uint8Array {
  return bytes.subarray(0, bytes.length - drop);
}

// ---------------------------------------------------------------- catalogue

/** Images Xen's script converts. */
export function validFixtures(): Fixture[] {
  return [
    {
      name: "pv64, 64-bit guest, extv + xcnt, vcpus 0,2,5, unmapped pfns",
      width: 64,
      guest: "pv",
      bytes: pvImage({
        width: 64,
        guestWidth: 8,
        extv: true,
        xsaveLen: 0x340,
        online: [0, 2, 5],
        unmapped: [3, 7, 0x1234],
      }),
      expect: ok,
    },
    {
      name: "pv32, 32-bit guest, no extv / xcnt, one vcpu",
      width: 32,
      guest: "pv",
      bytes: pvImage({ width: 32, guestWidth: 4 }),
      expect: ok,
    },
    {
      name: "pv32, 64-bit guest, extv, vcpus 0,1",
      width: 32,
      guest: "pv",
      bytes: pvImage({ width: 32, guestWidth: 8, extv: true, online: [0, 1], p2mSize: 0x1001 }),
      expect: ok,
    },
    {
      name: "pv64, 32-bit guest, xcnt without extv, vcpus 1,3 of max 63",
      width: 64,
      guest: "pv",
      bytes: pvImage({ width: 64, guestWidth: 4, xsaveLen: 0x24c, online: [1, 3], maxVcpuId: 63 }),
      expect: ok,
    },
    {
      name: "pv64, 65 vcpus (two bitmap words), unmapped pfns",
      width: 64,
      guest: "pv",
      bytes: pvImage({
        width: 64,
        guestWidth: 8,
        online: Array.from({ length: 65 }, (_, i) => i),
        unmapped: [1],
      }),
      expect: ok,
    },
    {
      name: "pv64, two vcpu_info chunks add up (contexts for 0,1,0,1)",
      width: 64,
      guest: "pv",
      bytes: pvImage({
        width: 64,
        guestWidth: 8,
        online: [0, 1, 0, 1],
        body: (b) => {
          b.batch([1]);
          b.vcpuInfo(1, [0, 1]);
          b.vcpuInfo(1, [0, 1]);
          b.end();
        },
      }),
      expect: ok,
    },
    {
      name: "pv64, a full 1024-page batch",
      width: 64,
      guest: "pv",
      bytes: pvImage({
        width: 64,
        guestWidth: 8,
        body: (b) => {
          b.batch(Array.from({ length: 1024 }, (_, i) => i === 7 ? 0x10000000 | i : i));
          b.vcpuInfo(0, [0]);
          b.end();
        },
      }),
      expect: ok,
    },
    {
      name: "pv32, two vcpu blocks (the last one counts), xcnt data longer than 4",
      width: 32,
      guest: "pv",
      bytes: pvImage({
        width: 32,
        guestWidth: 4,
        xsaveLen: 0x40,
        blocks: [
          { id: "vcpu", data: pattern(0x1430) },
          { id: "xcnt", data: new LegacyImageBuilder(32).u32(0x40).u32(0xffff).u32(7).build() },
          { id: "vcpu", data: pattern(0xaf0) },
        ],
      }),
      expect: ok,
    },
    {
      name: "hvm64, every HVM chunk, physmap toolstack, qemu",
      width: 64,
      guest: "hvm",
      bytes: hvmImage({ width: 64 }),
      expect: ok,
    },
    {
      name: "hvm32, every HVM chunk, physmap toolstack, qemu",
      width: 32,
      guest: "hvm",
      bytes: hvmImage({ width: 32 }),
      expect: ok,
    },
    {
      name: "hvm64, two toolstack chunks (xenstore data adds up), odd context size",
      width: 64,
      guest: "hvm",
      bytes: hvmImage({
        width: 64,
        context: hvmContext(1, 3),
        body: (b) => {
          b.batch([5]);
          b.toolstack(physmapToolstack(64, PHYSMAP.slice(0, 1)));
          b.toolstack(physmapToolstack(64, PHYSMAP.slice(1)));
          b.end();
        },
      }),
      expect: ok,
    },
    {
      name: "hvm32, no body chunks but one batch, empty qemu record",
      width: 32,
      guest: "hvm",
      bytes: hvmImage({ width: 32, qemu: new Uint8Array(0), body: (b) => b.batch([0x42]).end() }),
      expect: ok,
    },
    {
      name: "hvm64 without a qemu record, --skip-qemu (libxl still wants it)",
      width: 64,
      guest: "hvm",
      bytes: hvmImage({ width: 64, qemu: null }),
      flags: ["--skip-qemu"],
      expect: { libxc: 0, libxl: 1 },
    },
    {
      name: "hvm64 with bytes after the qemu record (ignored)",
      width: 64,
      guest: "hvm",
      bytes: hvmImage({ width: 64, trailer: pattern(100) }),
      expect: ok,
    },
    {
      name: "hvm64, toolstack data that is no libxl physmap (libxc discards it)",
      width: 64,
      guest: "hvm",
      bytes: hvmWith(64, (b) => b.toolstack(pattern(13))),
      expect: { libxc: 0, libxl: 1 },
    },
    {
      name: "quirk: hvm64 pfn words with bits 32-63 set (kept apart, then merged)",
      width: 64,
      guest: "hvm",
      bytes: hvmWith(64, (b) => b.batch([0x5, 0x100000005n, 0xf0000000n + 0x100000000n])),
      expect: ok,
      unverifiable: true,
      undetectable: true,
    },
    {
      name: "quirk: hvm32 page type 5 passed through",
      width: 32,
      guest: "hvm",
      bytes: hvmWith(32, (b) => b.batch([0x50000009])),
      expect: ok,
      unverifiable: true,
      undetectable: true,
    },
    {
      name: "quirk: hvm64 zero-length HVM context",
      width: 64,
      guest: "hvm",
      bytes: hvmImage({ width: 64, context: new Uint8Array(0) }),
      expect: ok,
      unverifiable: true,
      undetectable: true,
    },
  ];
}

/** Images Xen's script converts only with a Python 3 fix, or converts wrongly. */
export function fixedFixtures(): Fixture[] {
  return [
    {
      name: "pv64 behind an xl header (-x)",
      width: 64,
      guest: "pv",
      bytes: pvImage({ width: 64, guestWidth: 8, extv: true, xl: true }),
      flags: ["-x"],
      expect: ok,
      xenFix: "xl",
    },
    {
      name: "hvm32 behind an xl header (-x)",
      width: 32,
      guest: "hvm",
      bytes: hvmImage({ width: 32, xl: true }),
      flags: ["-x"],
      expect: ok,
      xenFix: "xl",
    },
    {
      name: "hvm64 physmap name that is not UTF-8",
      width: 64,
      guest: "hvm",
      bytes: hvmImage({
        width: 64,
        physmap: [{
          phys: 0xf0000000n,
          start: 0xf0000000n,
          size: 0x1000n,
          name: new Uint8Array([0x76, 0xff, 0xfe, 0x61, 0]),
        }],
      }),
      expect: ok,
      xenFix: "utf8",
    },
  ];
}

/** A batch of nothing but XTAB fillers: Xen writes a count-0 PAGE_DATA record. */
export function xtabOnlyFixture(width: Width): Fixture {
  return {
    name: `hvm${width} with a batch of only XTAB fillers`,
    width,
    guest: "hvm",
    bytes: hvmWith(width, (b) => b.batch([XTAB_FILLER, XTAB_FILLER, XTAB_FILLER])),
    expect: ok,
  };
}

/** Images Xen's script rejects, with its exit codes. */
export function invalidFixtures(): Fixture[] {
  const pv = (
    name: string,
    o: Partial<PvOptions>,
    expect: Fixture["expect"] = bad,
    width: Width = 64,
  ): Fixture => ({
    name: `pv${width}: ${name}`,
    width,
    guest: "pv",
    bytes: pvImage({ width, guestWidth: 8, ...o }),
    expect,
  });
  const hvm = (
    name: string,
    bytes: Uint8Array,
    expect: Fixture["expect"] = bad,
    width: Width = 64,
  ): Fixture => ({
    name: `hvm${width}: ${name}`,
    width,
    guest: "hvm",
    bytes,
    expect,
  });
  const good64 = hvmImage({ width: 64 });
  return [
    {
      name: "pv64: bad extended-info signature",
      width: 64,
      guest: "pv",
      bytes: new LegacyImageBuilder(64).p2mSize(0x100).u64(0xfffffffffffffffen).u32(0).build(),
      expect: bad,
    },
    {
      name: "pv32: bad extended-info signature",
      width: 32,
      guest: "pv",
      bytes: new LegacyImageBuilder(32).p2mSize(0x100).u32(0xfffffffe).u32(0).build(),
      expect: bad,
    },
    pv("unknown extended-info block", {
      blocks: [{ id: "vcpu", data: pattern(0x1430) }, { id: "junk", data: pattern(4) }],
    }),
    pv("vcpu block of an unknown size", { blocks: [{ id: "vcpu", data: pattern(0x1000) }] }),
    pv("extended-info blocks overshoot their length", { totalLength: 0x1430 }),
    pv("no vcpu block (guest width unknown)", {
      blocks: [{ id: "extv", data: new Uint8Array(0) }],
    }),
    pv("xcnt block too short for its size word", {
      blocks: [{ id: "vcpu", data: pattern(0x1430) }, { id: "xcnt", data: new Uint8Array(2) }],
    }),
    pv("p2m_size 0", { p2mSize: 0, frames: [] }),
    pv("p2m_size beyond 32-bit end pfn", { p2mSize: 0x100000002, frames: [1, 2] }),
    pv("page batch over MAX_BATCH", { body: (b) => b.i32(1025) }),
    pv("duplicate pfns in a batch", { body: (b) => b.batch([3, 4, 3]) }),
    pv("vcpu_info max_id beyond MAX_VCPU_ID", { body: (b) => b.vcpuInfo(4096, [0]) }),
    pv("unknown chunk -21", { body: (b) => b.chunk(-21) }),
    pv("unknown chunk -1000", { body: (b) => b.batch([1]).chunk(-1000) }),
    pv("HVM-only chunk", { body: (b) => b.batch([1]).hvmParam(-8, 0x10).vcpuInfo(0, [0]).end() }),
    pv("HVM-only chunk, then tmem (Xen reports tmem first)", {
      body: (b) => b.hvmParam(-3, 1).chunk(-5),
    }, unsupported),
    pv("xsave size does not match xcnt", {
      xsaveLen: 0x100,
      tail: (b) =>
        b.u32(0).raw(vcpuContext(8, 0)).u64(7).u64(0x80).raw(pattern(0x80)).raw(pattern(4096)),
    }),
    pv("truncated in the p2m frame list", { body: () => {}, tail: () => {}, frames: [1] }),
    pv("truncated in a page batch", {
      body: (b) => b.i32(2).ulong(1).ulong(2).raw(page(1)),
      tail: () => {},
    }),
    pv("truncated in the vcpu contexts", { tail: (b) => b.u32(0).raw(pattern(100)) }),
    pv("truncated shared info", {
      tail: (b) => b.u32(0).raw(vcpuContext(8, 0)).raw(pattern(4000)),
    }),
    pv("tmem chunk", { body: (b) => b.batch([1]).chunk(-5) }, unsupported),
    pv("tmem_extra chunk", { body: (b) => b.chunk(-6) }, unsupported, 32),
    hvm("compressed data", hvmWith(64, (b) => b.chunk(-12).u32(5).raw(pattern(5))), unsupported),
    hvm(
      "compressed data, truncated",
      new LegacyImageBuilder(64).p2mSize(1).chunk(-12).u32(50).raw(pattern(5)).build(),
    ),
    hvm("enable_compression", hvmWith(32, (b) => b.chunk(-13)), unsupported, 32),
    hvm(
      "qemu record with an unknown signature",
      hvmImage({ width: 64, qemuSignature: "NotAQemuRecordAtAll!!" }),
      unsupported,
    ),
    hvm(
      "QemuDeviceModelRecord (until end of file) is not implemented",
      hvmImage({ width: 32, qemuSignature: "QemuDeviceModelRecord" }),
      unsupported,
      32,
    ),
    hvm("truncated qemu data", truncate(good64, 10)),
    hvm("truncated qemu signature", truncate(good64, 1001 + 4 + 10)),
    hvm("truncated HVM context", truncate(hvmImage({ width: 64, qemu: null }), 20)),
    hvm("truncated p2m_size", new Uint8Array([1, 0, 0])),
    hvm("empty input", new Uint8Array(0)),
    hvm("physmap version 2", hvmWith(64, (b) => b.toolstack(physmapToolstack(64, PHYSMAP, 2))), {
      libxc: 0,
      libxl: 1,
    }),
    hvm("physmap data shorter than its header", hvmWith(64, (b) => b.toolstack(pattern(6))), {
      libxc: 0,
      libxl: 1,
    }),
    hvm(
      "physmap entry header cut short",
      hvmWith(64, (b) => b.toolstack(physmapToolstack(64, PHYSMAP, 1, 3))),
      { libxc: 0, libxl: 1 },
    ),
    hvm(
      "physmap namelen 0",
      hvmWith(32, (b) => b.toolstack(physmapToolstack(32, [{ ...PHYSMAP[0], namelen: 0 }]))),
      { libxc: 0, libxl: 1 },
      32,
    ),
    hvm(
      "physmap name cut short",
      hvmWith(32, (b) => b.toolstack(physmapToolstack(32, [{ ...PHYSMAP[0], namelen: 200 }]))),
      { libxc: 0, libxl: 1 },
      32,
    ),
    hvm(
      "physmap name not NUL terminated",
      hvmWith(64, (b) =>
        b.toolstack(
          physmapToolstack(64, [{ ...PHYSMAP[0], name: new TextEncoder().encode("vga") }]),
        )),
      { libxc: 0, libxl: 1 },
    ),
  ];
}

export { hvmImage, pvImage };
