/**
 * `StreamReader` over every kind of source — a file, an OS pipe delivering
 * short reads, a Web `ReadableStream`, bytes — gives the same bytes at the
 * same offsets; truncation, limits, skipping and end of input behave as
 * documented; and PAGE_DATA pages reach the consumer as views of the
 * reader's own buffer, never copies.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LimitError, TruncatedError } from "../../lib/errors.ts";
import {
  type ByteSource,
  bytesSource,
  openInput,
  readableSource,
  readerSource,
} from "../../lib/io/byte_source.ts";
import { StreamReader } from "../../lib/io/stream_reader.ts";
import { decodePageData } from "../../lib/libxc/page_data.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { patterned } from "../support/corpus/bytes.ts";
import { pageContents, pageData, pfnRange } from "../support/corpus/records.ts";
import {
  join,
  libxcSegments,
  libxlSegments,
  XL_FLAG,
  xlSegments,
} from "../support/corpus/streams.ts";
import { hvmImage, libxlHvmEntries } from "../support/corpus/valid.ts";

/** Wraps a source and records the size of every read asked for and got. */
function counting(src: ByteSource) {
  const stats = { reads: 0, short: 0, largestRequest: 0 };
  const source: ByteSource = {
    async read(into) {
      stats.reads++;
      stats.largestRequest = Math.max(stats.largestRequest, into.length);
      const n = await src.read(into);
      if (n !== null && n < into.length) stats.short++;
      return n;
    },
    close: () => src.close(),
  };
  return { source, stats };
}

/** Reads `data` back through `reader` in pieces of awkward sizes and checks bytes and offsets. */
async function readBack(reader: StreamReader, data: Uint8Array): Promise<void> {
  const sizes = [1, 7, 8, 24, 4096, 3, 65536 + 5, 100_000, 16];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - at);
    assert.equal(reader.offset, at);
    const got = await reader.readExact(n, "piece");
    assert.equal(got.length, n);
    assert.deepEqual(got, data.subarray(at, at + n), `bytes at ${at}`);
    at += n;
  }
  assert.equal(await reader.atEnd(), true);
  await assert.rejects(reader.readExact(1, "past the end"), TruncatedError);
}

const DATA = patterned(600_000, 3);

Deno.test("StreamReader over bytes", async () => {
  await readBack(new StreamReader(bytesSource(DATA)), DATA);
});

Deno.test("StreamReader over a file (openInput: synchronous reads) and a Deno.FsFile reader", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, DATA);
    await readBack(new StreamReader(await openInput(path)), DATA);
    const file = await Deno.open(path);
    const reader = new StreamReader(readerSource(file));
    await readBack(reader, DATA);
    reader.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("StreamReader over a ReadableStream of odd-sized chunks", async () => {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < DATA.length; i++) {
    const n = [1, 4095, 13, 70_000, 8][i % 5];
    chunks.push(DATA.slice(at, at + n));
    at += n;
  }
  await readBack(new StreamReader(readableSource(ReadableStream.from(chunks))), DATA);
});

Deno.test("StreamReader over an OS pipe fed in small delayed writes (short reads)", async () => {
  const dir = await Deno.makeTempDir();
  const fifo = `${dir}/fifo`;
  try {
    assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    const data = DATA.subarray(0, 150_000);
    const writer = (async () => {
      const w = await Deno.open(fifo, { write: true });
      for (let at = 0; at < data.length; at += 5000) {
        await w.write(data.subarray(at, at + 5000));
        await new Promise((r) => setTimeout(r, 1));
      }
      w.close();
    })();
    const { source, stats } = counting(await openInput(fifo));
    const reader = new StreamReader(source);
    await readBack(reader, data);
    reader.close();
    await writer;
    assert.ok(stats.short > 5, `expected short reads from the pipe, got ${JSON.stringify(stats)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every kind of source verifies the same stream to the same result", async () => {
  const bytes = join(xlSegments({ mflags: XL_FLAG.STREAMV2 }, libxlSegments(libxlHvmEntries())));
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, bytes);
  try {
    const sources: [string, () => Promise<ByteSource>][] = [
      ["bytes", () => Promise.resolve(bytesSource(bytes))],
      ["file", () => openInput(path)],
      [
        "1-byte chunks",
        () =>
          Promise.resolve(
            readableSource(ReadableStream.from(Array.from(bytes, (b) => new Uint8Array([b])))),
          ),
      ],
    ];
    for (const [name, open] of sources) {
      const lines: string[] = [];
      const r = await verifyStream(await open(), {
        format: "xl",
        info: (l) => lines.push(l),
        summary: true,
      });
      assert.equal(r.exitCode, 0, `${name}: ${r.error?.message}`);
      assert.equal(r.summary?.bytes, bytes.length, name);
      assert.ok(lines.includes("Libxl Record: End, length 0"), name);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("truncation: TruncatedError says where, how much was wanted and got; nothing is consumed", async () => {
  const reader = new StreamReader(bytesSource(patterned(100)), { startOffset: 1000 });
  await reader.readExact(10);
  await assert.rejects(reader.readExact(200, "a record"), (e) => {
    assert.ok(e instanceof TruncatedError);
    assert.deepEqual([e.offset, e.wanted, e.got, e.where], [1010, 200, 90, "a record"]);
    assert.equal(e.message, "Stream truncated");
    return true;
  });
  assert.equal(reader.offset, 1010);
  assert.deepEqual(
    await reader.readExact(90),
    patterned(100).subarray(10),
    "the bytes are still there",
  );
});

Deno.test("a header claiming a 4 GiB body on a 100-byte stream: TruncatedError, no large allocation", async () => {
  const { source, stats } = counting(bytesSource(patterned(100)));
  const reader = new StreamReader(source, { maxBytes: 2 ** 33 });
  const before = Deno.memoryUsage();
  await assert.rejects(reader.readExact(2 ** 32, "body"), (e) => {
    assert.ok(e instanceof TruncatedError);
    assert.deepEqual([e.offset, e.wanted, e.got], [0, 2 ** 32, 100]);
    return true;
  });
  const after = Deno.memoryUsage();
  assert.ok(
    stats.largestRequest <= 1 << 20,
    `asked the source for ${stats.largestRequest} bytes at once`,
  );
  const grown = after.rss - before.rss + (after.external - before.external);
  assert.ok(grown < 64 * 2 ** 20, `memory grew by ${grown} bytes`);
});

Deno.test("LimitError over maxBytes, before any byte of the structure is buffered", async () => {
  const { source, stats } = counting(bytesSource(patterned(5000)));
  const reader = new StreamReader(source, { maxBytes: 1024, startOffset: 7 });
  assert.equal(reader.maxBytes, 1024);
  await reader.readExact(16);
  const readsBefore = stats.reads;
  await assert.rejects(reader.readExact(1025, "optional data"), (e) => {
    assert.ok(e instanceof LimitError);
    assert.deepEqual([e.offset, e.where], [23, "optional data"]);
    assert.match(e.message, /1025 bytes exceeds the 1024-byte limit/);
    return true;
  });
  assert.equal(stats.reads, readsBefore, "no read for a structure over the limit");
  await assert.rejects(reader.peek(1025), LimitError);
  assert.equal((await reader.readExact(1024)).length, 1024, "exactly maxBytes is fine");
});

Deno.test("skip, readSome and atEnd", async () => {
  const data = patterned(300_000, 5);
  const reader = new StreamReader(
    readableSource(ReadableStream.from([data.slice(0, 1000), data.slice(1000)])),
  );
  await reader.skip(250_000, "skipped");
  assert.equal(reader.offset, 250_000);
  assert.deepEqual(await reader.readExact(4), data.subarray(250_000, 250_004));
  const some = await reader.readSome(10);
  assert.ok(some.length >= 1 && some.length <= 10);
  assert.deepEqual(some, data.subarray(250_004, 250_004 + some.length));
  assert.equal(await reader.atEnd(), false);
  await assert.rejects(
    reader.skip(1_000_000, "too far"),
    (e) => e instanceof TruncatedError && e.where === "too far",
  );
  assert.equal(await reader.atEnd(), true);
  assert.equal((await reader.readSome(10)).length, 0, "an empty view at the end");
});

Deno.test("PAGE_DATA pages are views of the reader's buffer, not copies", async () => {
  const image = hvmImage(1);
  const records = [...image.records];
  records.splice(
    3,
    0,
    ...Array.from({ length: 20 }, (_, i) => pageData(pfnRange(100 + 10 * i, 10))),
  );
  const bytes = join(libxcSegments({ ...image, records }));
  const parser = new StreamParser(bytesSource(bytes));
  const buffers = new Set<ArrayBufferLike>();
  let pageRecords = 0;
  for await (const ev of parser.events()) {
    if (ev.kind !== "record" || ev.type !== 1) continue;
    const pd = decodePageData(ev.body, ev.offset);
    const readerBuffer = parser.reader.readExact(0);
    assert.equal(pd.pages.buffer, (await readerBuffer).buffer, "pages share the reader's buffer");
    assert.equal(pd.pages.buffer, ev.body.buffer);
    assert.deepEqual(
      pd.pages.subarray(0, 4096),
      pageContents(pd.pfns[0]),
      "and hold the right page",
    );
    buffers.add(pd.pages.buffer);
    pageRecords++;
  }
  assert.ok(pageRecords >= 22);
  assert.equal(buffers.size, 1, "one buffer reused for every record");
});
