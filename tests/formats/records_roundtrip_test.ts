/**
 * `encode(decode(b))` reproduces `b` byte for byte for every record of every
 * type: every record of every corpus stream (valid ones, and the records of
 * invalid streams that are structurally sound) and every record of the real
 * Xen 4.17 streams.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RecordError } from "../../lib/errors.ts";
import { bytesSource, openInput } from "../../lib/io/byte_source.ts";
import { decodeLibxcRecord, encodeLibxcRecord } from "../../lib/libxc/records.ts";
import { decodeLibxlRecord, encodeLibxlRecord } from "../../lib/libxl/records.ts";
import { allZero } from "../../lib/record_header.ts";
import { type Layer, type RecordEvent, StreamParser } from "../../lib/stream_parser.ts";
import { StreamError } from "../../lib/errors.ts";
import { pack } from "../support/corpus/bytes.ts";
import { realFixture } from "../support/corpus/fixtures.ts";
import { corpus } from "../support/corpus/mod.ts";

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );

/** Re-encodes the decoded record of `ev`; undefined if it does not decode. */
function reencode(ev: RecordEvent): Uint8Array | undefined {
  try {
    return ev.layer === "libxc"
      ? encodeLibxcRecord(decodeLibxcRecord(ev.type, ev.body, ev.offset))
      : encodeLibxlRecord(decodeLibxlRecord(ev.type, ev.body, ev.offset));
  } catch (e) {
    if (e instanceof RecordError) return undefined;
    throw e;
  }
}

/** Checks one record; returns whether it was a round-trip candidate. */
function checkRecord(ev: RecordEvent, context: string): boolean {
  if (!allZero(ev.padding)) return false; // not what an encoder writes
  const again = reencode(ev);
  if (!again) return false;
  const where = `${context}: ${ev.layer} record ${ev.index} (type ${ev.type}) at ${ev.offset}`;
  assert.ok(same(again.subarray(0, 8), pack("<II", ev.type, ev.length)), `${where}: header`);
  assert.ok(same(again.subarray(8, 8 + ev.length), ev.body), `${where}: body`);
  assert.equal(again.length, 8 + ev.length + ev.padding.length, `${where}: padded size`);
  assert.ok(allZero(again.subarray(8 + ev.length)), `${where}: padding`);
  return true;
}

async function* records(parser: StreamParser): AsyncGenerator<RecordEvent> {
  try {
    for await (const ev of parser.events()) if (ev.kind === "record") yield ev;
  } catch (e) {
    if (!(e instanceof StreamError)) throw e; // invalid items stop somewhere
  }
}

Deno.test("every record of every corpus stream round-trips byte for byte", async () => {
  const covered: Record<Layer, Set<number>> = { libxc: new Set(), libxl: new Set() };
  let count = 0;
  for (const it of corpus()) {
    for await (
      const ev of records(new StreamParser(bytesSource(it.bytes), { format: it.format }))
    ) {
      if (checkRecord(ev, it.name)) {
        covered[ev.layer].add(ev.type);
        count++;
      }
    }
  }
  assert.ok(count > 1000, `only ${count} records`);
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  const known = (s: Set<number>, n: number) => [...s].filter((t) => t < n).sort((a, b) => a - b);
  assert.deepEqual(known(covered.libxc, 19), all(19), "every libxc record type");
  assert.deepEqual(known(covered.libxl, 6), all(6), "every libxl record type");
  assert.ok(covered.libxc.has(0x13) && covered.libxl.has(6), "unknown types are kept raw");
});

for (const name of ["pv96.save", "pvh128.mig"] as const) {
  Deno.test(`every record of the real Xen stream ${name} round-trips byte for byte`, async () => {
    const parser = new StreamParser(await openInput(await realFixture(name)), { format: "xl" });
    const types = new Set<string>();
    let count = 0;
    for await (const ev of parser.events()) {
      if (ev.kind !== "record") continue;
      assert.ok(checkRecord(ev, name), `record ${ev.index} at ${ev.offset} did not decode`);
      types.add(`${ev.layer}:${ev.type}`);
      count++;
    }
    parser.reader.close();
    assert.ok(count > 20 && types.size >= 9, `${count} records, types ${[...types]}`);
  });
}
