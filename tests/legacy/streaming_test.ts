/**
 * Streaming: conversion never holds the whole stream.  A 512 MiB image is
 * piped through the command (stdin to stdout, width and guest type
 * detected on the pipe) and verified as it comes out, while the converter's
 * peak RSS is watched; and conversion of inputs that arrive in pieces of
 * any size gives the same bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ByteSource, readableSource } from "../../lib/io/byte_source.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { convertLegacyStream } from "../../lib/legacy/convert.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { fixedFixtures, validFixtures } from "./fixtures.ts";
import { OUR_SCRIPT } from "./harness.ts";
import { hvmContext, LegacyImageBuilder, pattern } from "./legacy_builder.ts";

/** Peak RSS (VmHWM) of `pid` in KiB, or 0 once it is gone. */
async function peakRss(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

Deno.test("pipe to pipe: a 512 MiB image streams through in bounded memory", async () => {
  const BATCHES = 128;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", OUR_SCRIPT, "-i", "0", "-o", "1", "-f", "libxl"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let peak = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      peak = Math.max(peak, await peakRss(child.pid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const feed = (async () => {
    const w = child.stdin.getWriter();
    await w.write(new LegacyImageBuilder(64).p2mSize(BATCHES * 1024).vcpuInfo(0, [0]).build());
    const words = new Uint8Array(4 + 1024 * 8);
    const wv = new DataView(words.buffer);
    wv.setInt32(0, 1024, true);
    for (let b = 0; b < BATCHES; b++) {
      for (let i = 0; i < 1024; i++) wv.setBigUint64(4 + i * 8, BigInt(b * 1024 + i), true);
      const pages = new Uint8Array(1024 * 4096).fill(b & 0xff);
      await w.write(words.slice());
      await w.write(pages);
    }
    const tail = new LegacyImageBuilder(64).end()
      .hvmTail({ ioreq: 1n, bufioreq: 2n, store: 3n, context: hvmContext(1) }).qemu(pattern(777));
    await w.write(tail.build());
    await w.close();
  })();

  const verdict = verifyStream(readableSource(child.stdout), { format: "libxl", summary: true });
  const [, result, status] = await Promise.all([feed, verdict, child.status]);
  watching = false;
  await watch;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  assert.equal(status.code, 0, stderr);
  assert.equal(result.exitCode, 0, result.error?.message);
  assert.equal(result.summary!.pagesWithData, BATCHES * 1024);
  assert.equal(result.summary!.records.libxc.PAGE_DATA, BATCHES);
  assert.ok(result.summary!.bytes > 512 * 2 ** 20);
  // The image is 512 MiB; the converter holds a few batches at most.
  assert.ok(peak > 0 && peak < 160 * 1024, `peak RSS ${(peak / 1024).toFixed(1)} MiB`);
});

/** Serves `bytes` in pieces of pseudo-random sizes from 1 to `max` octets. */
function ragged(bytes: Uint8Array, max: number, seed: number): ByteSource {
  let at = 0;
  let x = seed;
  return {
    read(into) {
      if (at >= bytes.length) return Promise.resolve(null);
      x = (x * 1103515245 + 12345) >>> 0;
      const n = Math.min(into.length, bytes.length - at, 1 + (x % max));
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

Deno.test("input arriving in pieces of any size converts to the same bytes", async () => {
  const fixtures = [
    ...validFixtures().filter((f) => !f.undetectable).slice(0, 10),
    ...fixedFixtures(),
  ];
  for (const f of fixtures) {
    const xl = f.flags?.includes("-x") ?? false;
    const skipQemu = f.flags?.includes("--skip-qemu") ?? false;
    for (const format of ["libxc", "libxl"] as const) {
      if (f.expect[format] !== 0) continue;
      const whole = memorySink();
      await convertLegacyStream(ragged(f.bytes, 1 << 30, 1), whole, { format, xl, skipQemu });
      // Byte by byte only for the small images: 4 MiB a byte at a time takes minutes.
      for (const max of f.bytes.length < 200_000 ? [1, 7, 4095, 65537] : [61, 4095, 65537]) {
        const pieces = memorySink();
        await convertLegacyStream(ragged(f.bytes, max, max), pieces, { format, xl, skipQemu });
        assert.deepEqual(
          pieces.bytes(),
          whole.bytes(),
          `${f.name} [${format}] in pieces of <= ${max}`,
        );
      }
    }
  }
});
