/**
 * Malformed input is always the stream's fault, never the verifier's:
 * thousands of deterministic mutations of the valid corpus streams (record
 * types, lengths and the first bytes of bodies changed, bytes flipped,
 * streams cut short) verify to 0 or 1 — plain, with the summary, and with
 * `--strict` — and never to an internal error (exit 2, "Script Error").
 *
 * @module
 */

import assert from "node:assert/strict";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import { type VerifyOptions, verifyStream } from "../../lib/verify/verify_stream.ts";
import { corpus, type CorpusItem } from "../support/corpus/mod.ts";

/** A small deterministic PRNG (LCG), so failures reproduce. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

/** Where the structures of a valid item are: header offsets, record offsets and lengths. */
async function layout(item: CorpusItem) {
  const headers: number[] = [];
  const records: { offset: number; length: number }[] = [];
  for await (
    const ev of new StreamParser(bytesSource(item.bytes), { format: item.format }).events()
  ) {
    if (ev.kind === "record") records.push({ offset: ev.offset, length: ev.length });
    else if (ev.kind !== "record-header") headers.push(ev.offset);
  }
  return { headers, records };
}

/** `item`'s bytes with 1–3 targeted changes, and sometimes cut short. */
function mutate(item: CorpusItem, where: Awaited<ReturnType<typeof layout>>, rnd: () => number) {
  const b = item.bytes.slice();
  const v = new DataView(b.buffer);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const u32 = (at: number, value: number) =>
    at + 4 <= b.length && v.setUint32(at, value >>> 0, true);
  for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) {
    const rec = pick(where.records);
    const body = rec.offset + 8 + 4 * Math.floor(rnd() * Math.min(16, rec.length / 4));
    switch (Math.floor(rnd() * 6)) {
      case 0: // another record type, known or not
        u32(rec.offset, Math.floor(rnd() * 24));
        break;
      case 1: // another length
        u32(rec.offset + 4, Math.max(0, rec.length + Math.floor(rnd() * 80) - 40));
        break;
      case 2: // a small count / length / typecode inside the body
        u32(body, Math.floor(rnd() * 40));
        break;
      case 3: // a huge one
        u32(body, 0xffffffff - Math.floor(rnd() * 16));
        break;
      case 4: // a bit of a header
        b[pick(where.headers) + Math.floor(rnd() * 16)] ^= 1 << Math.floor(rnd() * 8);
        break;
      case 5: // any byte
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        break;
    }
  }
  return rnd() < 0.15 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
}

const MODES: VerifyOptions[] = [{}, { summary: true }, { strict: true, summary: true }];

Deno.test("mutated streams verify to 0 or 1, never to an internal error", async () => {
  const valid = corpus().filter((i) => i.expect.exitCode === 0);
  const layouts = await Promise.all(valid.map(layout));
  const rnd = random(20260101);
  const internal: string[] = [];
  let rejected = 0, runs = 0;
  for (let n = 0; n < 2000; n++) {
    const i = n % valid.length;
    const bytes = mutate(valid[i], layouts[i], rnd);
    for (const opts of MODES) {
      const r = await verifyStream(bytesSource(bytes), { format: valid[i].format, ...opts });
      runs++;
      if (r.exitCode === 1) rejected++;
      if (r.exitCode === 2) {
        internal.push(`${valid[i].name} #${n} ${JSON.stringify(opts)}: ${r.error?.stack}`);
      }
    }
  }
  assert.deepEqual(internal, []);
  assert.ok(
    rejected > runs / 2,
    `only ${rejected} of ${runs} mutants were rejected: the mutations are too weak`,
  );
});
