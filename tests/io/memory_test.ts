/**
 * Memory stays bounded by the largest record, not the stream: verifying a
 * 256 MiB stream, generated on the fly so the test holds no copy of it,
 * grows the process by a few MiB only, and the reader never asks its source
 * for more than one record's worth at a time.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ByteSource } from "../../lib/io/byte_source.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { concat, pack } from "../support/corpus/bytes.ts";
import {
  hvmContext,
  libxcEnd,
  pageData,
  pfnRange,
  recordBytes,
  staticDataEnd,
} from "../support/corpus/records.ts";
import { domainHeader, imageHeader } from "../support/corpus/streams.ts";

const PAGES_PER_RECORD = 1024; // Xen's MAX_BATCH_SIZE
const RECORDS = 64; // 64 x 4 MiB of pages = 256 MiB

/**
 * A libxc HVM stream of `RECORDS` full PAGE_DATA records, produced on
 * demand: one record template whose pfn entries are rewritten per record.
 */
function generatedStream() {
  const head = concat(imageHeader(), domainHeader(), recordBytes(staticDataEnd()));
  const tail = concat(recordBytes(hvmContext()), recordBytes(libxcEnd()));
  const template = recordBytes(pageData(pfnRange(0, PAGES_PER_RECORD)));
  const entries = new DataView(template.buffer, 16, PAGES_PER_RECORD * 8);
  const total = head.length + RECORDS * template.length + tail.length;
  let part = -1; // -1: head, 0..RECORDS-1: records, RECORDS: tail
  let current = head;
  let pos = 0;
  const stats = { largestRequest: 0, peakRss: 0 };
  const source: ByteSource = {
    read(into) {
      stats.largestRequest = Math.max(stats.largestRequest, into.length);
      while (pos === current.length) {
        if (part === RECORDS) return Promise.resolve(null);
        part++;
        pos = 0;
        if (part === RECORDS) current = tail;
        else {
          // Record k covers pfns k*1024 .. k*1024+1023; the last record re-sends record 0's pfns.
          const base = (part === RECORDS - 1 ? 0 : part) * PAGES_PER_RECORD;
          for (let i = 0; i < PAGES_PER_RECORD; i++) entries.setUint32(i * 8, base + i, true);
          current = template;
          stats.peakRss = Math.max(stats.peakRss, Deno.memoryUsage().rss);
        }
      }
      const n = Math.min(into.length, current.length - pos);
      into.set(current.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
  return { source, stats, total, recordSize: template.length };
}

Deno.test("verifying a generated 256 MiB stream keeps memory bounded by the largest record", async () => {
  const gen = generatedStream();
  assert.ok(gen.total > 256 * 2 ** 20);
  const before = Deno.memoryUsage().rss;
  const r = await verifyStream(gen.source, { summary: true, strict: true });
  assert.equal(r.exitCode, 0, r.error?.message);
  assert.equal(r.summary?.bytes, gen.total);
  assert.equal(r.summary?.uniquePfns, (RECORDS - 1) * PAGES_PER_RECORD);
  assert.equal(r.summary?.pfnsSentMoreThanOnce, PAGES_PER_RECORD);
  const grown = gen.stats.peakRss - before;
  assert.ok(
    grown < 48 * 2 ** 20,
    `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB while streaming 256 MiB`,
  );
  assert.ok(
    gen.stats.largestRequest <= gen.recordSize + 64 * 1024,
    `the reader asked for ${gen.stats.largestRequest} bytes at once (record: ${gen.recordSize})`,
  );
});

Deno.test("a 4 GiB record claim through the whole verifier: one error, no allocation", async () => {
  const bytes = concat(
    imageHeader(),
    domainHeader(),
    pack("<II", 1, 0xfffffff8),
    new Uint8Array(52),
  );
  let largestRequest = 0;
  let pos = 0;
  const source: ByteSource = {
    read(into) {
      largestRequest = Math.max(largestRequest, into.length);
      if (pos === bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
  const before = Deno.memoryUsage().rss;
  const r = await verifyStream(source, { maxBytes: 2 ** 33 });
  assert.equal(r.exitCode, 1);
  assert.equal(r.error?.message, "Stream truncated");
  assert.ok(largestRequest <= 1 << 20, `asked for ${largestRequest} bytes at once`);
  assert.ok(Deno.memoryUsage().rss - before < 32 * 2 ** 20);
});
