/**
 * Regression test for the StreamReader growth the fuzzer found (crasher
 * `parse-6bc7676943ea`): when a large structure arrived in short reads (a
 * pipe or socket), the buffer was reallocated — and everything held copied
 * — on every read, each time to twice the bytes held: allocation quadratic
 * in the structure's size (316 MB allocated for a 290 KB input read in
 * small chunks).  It must grow geometrically: a few buffers, their sizes
 * summing to a small multiple of the structure.
 *
 * The buffers are observed without instrumenting the reader: every read
 * receives a view of its current buffer, so the distinct `ArrayBuffer`s
 * seen are exactly the allocations.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import type { ByteSource } from "../../lib/io/byte_source.ts";
import { StreamReader } from "../../lib/io/stream_reader.ts";

/** Serves `bytes` at most `chunk` bytes per read; records the buffers it reads into. */
function shortReads(bytes: Uint8Array, chunk: number) {
  const buffers = new Set<ArrayBufferLike>();
  let pos = 0;
  const source: ByteSource = {
    read(into) {
      buffers.add(into.buffer);
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, chunk, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
  const allocated = () => [...buffers].reduce((sum, b) => sum + b.byteLength, 0);
  return { source, buffers, allocated };
}

for (const chunk of [1448, 16384, 65536]) {
  Deno.test(`StreamReader: a 4 MiB structure in ${chunk}-byte reads allocates linearly`, async () => {
    const size = 4 << 20;
    const bytes = new Uint8Array(size).map((_, i) => i & 0xff);
    const s = shortReads(bytes, chunk);
    const r = new StreamReader(s.source);
    const got = await r.readExact(size);
    assertEquals(got.length, size);
    assertEquals(got[size - 1], (size - 1) & 0xff);
    // Doubling from 256 KiB: 256K + 512K + ... + 8M < 16 MiB; the quadratic
    // growth allocated hundreds of MiB here.
    assert(s.allocated() <= 4 * size, `allocated ${s.allocated()} bytes for ${size}`);
    assert(s.buffers.size <= 8, `${s.buffers.size} buffers`);
  });
}

Deno.test("StreamReader: a truncated big claim in short reads stays bounded by what arrived", async () => {
  const arrived = 300_000;
  const s = shortReads(new Uint8Array(arrived), 64);
  const r = new StreamReader(s.source);
  let error: unknown;
  try {
    await r.readExact(200 << 20, "claimed record");
  } catch (e) {
    error = e;
  }
  assertEquals((error as Error).name, "TruncatedError");
  assert(s.allocated() <= 4 * arrived + (1 << 20), `allocated ${s.allocated()} bytes`);
});
