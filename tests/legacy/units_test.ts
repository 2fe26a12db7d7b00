/**
 * The legacy modules one by one: chunk table, page batches, extended info,
 * vcpu bitmaps, libxl toolstack data, the look-ahead source, blobs, the
 * reader's events and the v2 writer.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StreamError, TruncatedError } from "../../lib/errors.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { StreamReader } from "../../lib/io/stream_reader.ts";
import { decodePageData } from "../../lib/libxc/page_data.ts";
import { LegacyBlob } from "../../lib/legacy/blob.ts";
import { CHUNK, CHUNK_TYPE_MIN, chunkName, LEGACY_CHUNKS } from "../../lib/legacy/chunks.ts";
import { HVM_PARAM, MAX_BATCH } from "../../lib/legacy/constants.ts";
import { convertLegacyStream } from "../../lib/legacy/convert.ts";
import { LegacyUnsupportedError } from "../../lib/legacy/errors.ts";
import type { LegacyEvent } from "../../lib/legacy/events.ts";
import { interpretExtInfoBlock } from "../../lib/legacy/extended_info.ts";
import { decodeBatchPfns } from "../../lib/legacy/page_batch.ts";
import { PeekableSource } from "../../lib/legacy/peekable_source.ts";
import { LegacyReader, type LegacyReaderOptions } from "../../lib/legacy/reader.ts";
import { decodeLibxlToolstack } from "../../lib/legacy/toolstack.ts";
import { V2Writer } from "../../lib/legacy/v2_writer.ts";
import { decodeVcpuBitmap, vcpuBitmapWords } from "../../lib/legacy/vcpu_info.ts";
import { pvImage, validFixtures } from "./fixtures.ts";
import {
  cname,
  hvmContext,
  LegacyImageBuilder,
  pattern,
  physmapToolstack,
} from "./legacy_builder.ts";

Deno.test("the chunk table has every chunk legacy.py names, with Xen's names and HVM params", () => {
  const ids = Object.values(CHUNK).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 21 }, (_, i) => CHUNK_TYPE_MIN + i));
  for (const [name, id] of Object.entries(CHUNK)) {
    const c = LEGACY_CHUNKS[id];
    assert.equal(c.name, name);
    assert.equal(c.id, id);
    if (id !== 0) assert.match(c.xcSaveId, /^XC_SAVE_ID_[A-Z0-9_]+$/);
  }
  assert.equal(LEGACY_CHUNKS[CHUNK.hvm_monitor_ring_pfn].hvmParam, HVM_PARAM.MONITOR_RING_PFN);
  assert.equal(LEGACY_CHUNKS[CHUNK.hvm_nr_ioreq_server_pages].hvmParam, 33);
  const unsupported = Object.values(LEGACY_CHUNKS).filter((c) => !c.supported).map((c) => c.name);
  assert.deepEqual(unsupported.sort(), [
    "compressed_data",
    "enable_compression",
    "tmem",
    "tmem_extra",
  ]);
  const hvmOnly = Object.values(LEGACY_CHUNKS).filter((c) => c.hvmOnly).length;
  assert.equal(hvmOnly, 11);
  assert.equal(chunkName(12), "12-page batch");
});

function words(width: 32 | 64, values: (number | bigint)[]): Uint8Array {
  const b = new LegacyImageBuilder(width);
  for (const v of values) b.ulong(v);
  return b.build();
}

Deno.test("page batch pfns: fillers dropped, types kept, duplicates rejected on whole words", () => {
  const out = new Uint32Array(MAX_BATCH);
  for (const width of [32, 64] as const) {
    const r = decodeBatchPfns(
      words(width, [0xf0000000, 0x1, 0xd0000002, 0xc0000003, 0xf0000000]),
      5,
      width,
      out,
      0,
    );
    assert.deepEqual(r, { kept: 3, dropped: 2, dataPages: 2 });
    assert.deepEqual([...out.subarray(0, 3)], [0x1, 0xd0000002, 0xc0000003]);
    assert.throws(
      () => decodeBatchPfns(words(width, [7, 8, 7]), 3, width, out, 100),
      (e: unknown) =>
        e instanceof StreamError && e.message === "Duplicate pfns in batch" && e.offset === 100,
    );
  }
  // Same low word, different high bits: different words to Xen, so kept.
  const r = decodeBatchPfns(words(64, [5, 0x100000005n, 0x1f0000000n]), 3, 64, out, 0);
  assert.equal(r.kept, 3);
  assert.throws(
    () => decodeBatchPfns(words(64, [0x100000005n, 0x100000005n]), 2, 64, out, 0),
    /Duplicate/,
  );
});

Deno.test("extended-info blocks: vcpu sizes, extv, xcnt, and Xen's rejections", () => {
  assert.deepEqual(interpretExtInfoBlock("vcpu", 0xaf0, new Uint8Array(0), 0), {
    id: "vcpu",
    size: 0xaf0,
    offset: 0,
    guestWidth: 4,
    ptLevels: 3,
  });
  assert.equal(interpretExtInfoBlock("extv", 0, new Uint8Array(0), 0).guestWidth, undefined);
  assert.equal(interpretExtInfoBlock("xcnt", 4, new Uint8Array([0, 1, 0, 0]), 0).xsaveLen, 256);
  assert.throws(
    () => interpretExtInfoBlock("vcpu", 0x1000, new Uint8Array(0), 9),
    /Unable to determine guest width\/level/,
  );
  assert.throws(() => interpretExtInfoBlock("xcnt", 3, new Uint8Array(3), 9), /too short/);
  assert.throws(
    () => interpretExtInfoBlock("ab\x01c", 0, new Uint8Array(0), 9),
    /Unrecognised extended block "ab\\x01c"/,
  );
});

Deno.test("vcpu bitmaps: Python's floor division, bits in order", () => {
  assert.deepEqual([-65, -1, 0, 63, 64, 4095].map(vcpuBitmapWords), [0, 0, 1, 1, 2, 64]);
  const map = new Uint8Array(16);
  map[0] = 0x81;
  map[15] = 0x80;
  assert.deepEqual(decodeVcpuBitmap(map), [0, 7, 127]);
});

Deno.test("libxl toolstack: 64-bit name padding, 32-bit without, Xen's error messages", () => {
  const entries = [{ phys: 0xfc000000n, start: 0xfc000000n, size: 0x1000n, name: cname("rom") }];
  for (const width of [32, 64] as const) {
    const ts = decodeLibxlToolstack(physmapToolstack(width, entries), width, 1000);
    assert.equal(ts.count, 1);
    assert.equal(
      new TextDecoder().decode(ts.xenstoreData),
      "physmap/fc000000/start_addr\0fc000000\0physmap/fc000000/size\x001000\0physmap/fc000000/name\0rom\0",
    );
  }
  // Read with the wrong width, the padding lands in the next entry (or is missing).
  assert.throws(
    () => decodeLibxlToolstack(physmapToolstack(32, entries), 64, 0),
    /too short for physmap name/,
  );
  assert.throws(
    () => decodeLibxlToolstack(physmapToolstack(64, entries, 3), 64, 500),
    (e: unknown) =>
      e instanceof StreamError && e.message === "Cannot decode libxl toolstack version 3" &&
      e.offset === 500,
  );
});

Deno.test("PeekableSource: peeked bytes are read again, then reads go straight through", async () => {
  const data = pattern(10000);
  const src = new PeekableSource(bytesSource(data));
  assert.deepEqual(await src.peek(100), data.subarray(0, 100));
  assert.deepEqual(await src.peek(5000), data.subarray(0, 5000));
  assert.deepEqual(await src.readExact(10), data.subarray(0, 10));
  const reader = new StreamReader(src, { startOffset: src.offset });
  assert.deepEqual(await reader.readExact(9990), data.subarray(10));
  assert.equal(reader.offset, 10000);
  assert.ok(await reader.atEnd());
  const short = new PeekableSource(bytesSource(new Uint8Array(3)));
  assert.equal((await short.peek(10)).length, 3);
  await assert.rejects(
    () => short.readExact(4, "thing"),
    (e: unknown) => e instanceof TruncatedError && e.got === 3,
  );
});

Deno.test("LegacyBlob: pieces, truncation reported for the whole run", async () => {
  const r = new StreamReader(bytesSource(pattern(10)));
  await r.readExact(2);
  const blob = new LegacyBlob(r, 2, 20, "HVM context");
  await assert.rejects(
    async () => {
      for await (const _ of blob.pieces(4)) { /* consume */ }
    },
    (e: unknown) =>
      e instanceof TruncatedError && e.offset === 2 && e.wanted === 20 && e.got === 8 &&
      e.describe() === "Stream truncated (HVM context, offset 2: needed 20 bytes, got 8)",
  );
});

async function events(bytes: Uint8Array, options: LegacyReaderOptions): Promise<LegacyEvent[]> {
  const out: LegacyEvent[] = [];
  for await (const ev of new LegacyReader(new StreamReader(bytesSource(bytes)), options).events()) {
    // Views and blobs are valid until the next event: keep copies.
    out.push(ev.kind === "page-batch" ? { ...ev, pfns: ev.pfns.slice() } : ev);
  }
  return out;
}

Deno.test("LegacyReader: a PV image's events, in order, with the VM state the tail needs", async () => {
  const bytes = pvImage({
    width: 32,
    guestWidth: 8,
    extv: true,
    xsaveLen: 0x50,
    online: [1, 2],
    unmapped: [9],
    body: (b) => b.batch([0x10000003, 0xf0000000]).vcpuInfo(2, [1, 2]).end(),
  });
  const evs = await events(bytes, { width: 32, guestType: "pv", qemu: true });
  assert.deepEqual(evs.map((e) => e.kind), [
    "p2m-size",
    "extended-info",
    "ext-info-block",
    "ext-info-block",
    "ext-info-block",
    "extended-info-end",
    "p2m-frames",
    "page-batch",
    "vcpu-info",
    "chunk",
    "unmapped-pfns",
    ...["basic", "extended", "xsave", "basic", "extended", "xsave"].map(() => "vcpu-context"),
    "shared-info",
    "image-end",
  ]);
  const batch = evs.find((e) => e.kind === "page-batch")!;
  assert.ok(
    batch.kind === "page-batch" && batch.pfns.length === 1 && batch.dropped === 1 &&
      batch.pages.length === 4096,
  );
  const frames = evs.find((e) => e.kind === "p2m-frames")!;
  assert.ok(frames.kind === "p2m-frames" && frames.framesPerPage === 512 && frames.count === 2);
  const xsave = evs.filter((e) => e.kind === "vcpu-context" && e.part === "xsave");
  assert.deepEqual(
    xsave.map((e) => e.kind === "vcpu-context" && [e.vcpuId, e.data.length, e.xsaveMask]),
    [
      [1, 0x40, 7n],
      [2, 0x40, 7n],
    ],
  );
});

Deno.test("LegacyReader: unsupported chunks raise LegacyUnsupportedError naming chunk and offset", async () => {
  const bytes = new LegacyImageBuilder(64).p2mSize(1).batch([1]).chunk(-13).build();
  await assert.rejects(
    () => events(bytes, { width: 64, guestType: "hvm", qemu: false }),
    (e: unknown) =>
      e instanceof LegacyUnsupportedError && e.offset === 8 + 4 + 8 + 4096 &&
      e.where === "legacy chunk -13 (enable_compression, XC_SAVE_ID_ENABLE_COMPRESSION)",
  );
});

Deno.test("V2Writer: PAGE_DATA from legacy words, pages passed through", async () => {
  const sink = memorySink();
  const w = new V2Writer(sink);
  const pages = pattern(8192);
  const blob = new LegacyBlob(new StreamReader(bytesSource(pages)), 0, pages.length, "pages");
  await w.pageData(new Uint32Array([0x10000005, 0xe0000006, 0x00000007]), blob);
  await w.flush();
  const bytes = sink.bytes();
  assert.equal(bytes.length, 8 + 8 + 24 + 8192);
  const pd = decodePageData(bytes.subarray(8));
  assert.deepEqual([...pd.pfns], [5, 6, 7]);
  assert.deepEqual([...pd.types], [1, 0xe, 0]);
  assert.deepEqual(pd.pages, pages);
});

Deno.test("convertLegacyStream reports what it did", async () => {
  const hvm = validFixtures().find((f) => f.guest === "hvm" && f.width === 32)!;
  const r = await convertLegacyStream(bytesSource(hvm.bytes), memorySink(), { format: "libxl" });
  assert.equal(r.width, 32);
  assert.equal(r.guestType, "hvm");
  assert.equal(r.pageDataRecords, 2);
  assert.equal(r.pages, 13 + 8); // 12 pages, a filler, pfn 0x100, an XALLOC; then 8
  assert.equal(r.droppedFillers, 1);
  assert.equal(r.bytesRead, hvm.bytes.length);
  const lines: string[] = [];
  await convertLegacyStream(
    bytesSource(
      new LegacyImageBuilder(64).p2mSize(1).end().hvmTail({
        ioreq: 1n,
        bufioreq: 2n,
        store: 3n,
        context: hvmContext(),
      }).build(),
    ),
    memorySink(),
    { skipQemu: true, info: (l) => lines.push(l) },
  );
  assert.deepEqual(lines.slice(2), [
    "P2M Size: 0x1",
    "Chunk: 0 - end",
    "  End",
    "Magic pfns: 0x1 0x2 0x3",
    "Got HVM Context (0x430 bytes)", // header 8+24, one CPU record 8+1024, END 8
  ]);
});
