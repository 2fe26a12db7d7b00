/**
 * Unit tests of the workload console parser: xenconsoled's timestamps, the
 * guest tty's "\r\n", lines glued together, gaps and the integrity verdict.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  addMailboxPage,
  addWorkloadLines,
  integrityVerdict,
  largestHeartbeatGap,
  lastHeartbeat,
  lastPass,
  MAILBOX_MAGIC,
  type WorkloadLog,
} from "./workload_log.ts";

function parse(lines: string[]): Map<string, WorkloadLog> {
  const logs = new Map<string, WorkloadLog>();
  addWorkloadLines(logs, lines);
  return logs;
}

Deno.test("workload log: start, pfns, heartbeats and passes, with timestamps and \\r", () => {
  const log = parse([
    "[2026-11-26 01:09:24] WL c527b6f0 start dirty_mb=16 static_mb=16 pass_ms=250 hb_ms=25 t=41.96\r",
    "[2026-11-26 01:09:24] WL c527b6f0 pfns dirty 29a7 4ab4 2964\r",
    "[2026-11-26 01:09:24] WL c527b6f0 pfns static 47f4 4874\r",
    "[2026-11-26 01:09:24] WL c527b6f0 hb 0 42.045086\r",
    "[2026-11-26 01:09:24] WL c527b6f0 pass 1 bad=0 static_bad=0 total_bad=0 ms=31 t=42.312800\r",
    "[2026-11-26 01:09:24] [   17.715941] ACPI: No IOAPIC entries present",
  ]).get("c527b6f0")!;
  assert.deepEqual(log.params, { dirty_mb: 16, static_mb: 16, pass_ms: 250, hb_ms: 25, t: 41.96 });
  assert.deepEqual(log.dirtyPfns, [0x29a7, 0x4ab4, 0x2964]);
  assert.deepEqual(log.staticPfns, [0x47f4, 0x4874]);
  assert.deepEqual(lastHeartbeat(log), { seq: 0, t: 42.045086 });
  assert.equal(lastPass(log)?.totalBad, 0);
});

Deno.test("workload log: a timestamp glued to the end of a line does not lose it", () => {
  const log = parse([
    "WL 4d6c07d0 hb 1507 110.319507[2026-11-26 01:09:25] ",
    "WL 4d6c07d0 pass 9 bad=0 static_bad=0 total_bad=0 ms=12 t=110.4[2026-11-26 01:09:25] ",
    "WL 4d6c07d0 pfns dirty 10 20 30[2026-11-26",
  ]).get("4d6c07d0")!;
  assert.deepEqual(log.heartbeats.get(1507), { seq: 1507, t: 110.319507 });
  assert.equal(log.passes.get(9)?.t, 110.4);
  assert.deepEqual(log.dirtyPfns, [0x10, 0x20]);
});

Deno.test("workload log: boots are kept apart by id", () => {
  const logs = parse(["WL 00000001 hb 0 1.0", "WL 00000002 hb 0 5.0", "WL 00000001 hb 1 1.1"]);
  assert.equal(logs.size, 2);
  assert.equal(logs.get("00000001")!.heartbeats.size, 2);
});

Deno.test("workload log: the largest heartbeat gap after a mark, and missing beats", () => {
  const log = parse([
    "WL 0000000a hb 0 10.000",
    "WL 0000000a hb 1 10.025",
    "WL 0000000a hb 2 13.500", // the operation
    "WL 0000000a hb 4 13.550", // hb 3 lost
  ]).get("0000000a")!;
  const gap = largestHeartbeatGap(log, 1);
  assert.equal(gap.afterSeq, 2);
  assert.ok(Math.abs(gap.seconds - 3.475) < 1e-9);
  assert.equal(gap.count, 3);
  assert.equal(gap.missing, 1);
  assert.equal(largestHeartbeatGap(log, 2).seconds.toFixed(3), "0.050");
});

Deno.test("workload log: integrity needs enough passes and no damage", () => {
  const passes = (n: number, bad = 0) =>
    Array.from(
      { length: n },
      (_, i) =>
        `WL 0000000b pass ${i + 1} bad=0 static_bad=0 total_bad=${
          i + 1 === n ? bad : 0
        } ms=1 t=${i}`,
    );
  const good = parse(passes(12)).get("0000000b")!;
  assert.equal(integrityVerdict(good, 3, 9).ok, true);
  assert.equal(integrityVerdict(good, 5, 9).ok, false, "only 7 passes after pass 5");
  const damaged = parse([
    ...passes(12, 4),
    "WL 0000000b corrupt dirty page=7 word=3 want=0000000000000001 got=0000000000000000",
  ]).get("0000000b")!;
  const v = integrityVerdict(damaged, 0, 9);
  assert.equal(v.ok, false);
  assert.equal(v.totalBad, 4);
  assert.equal(v.corruption.length, 1);
});

Deno.test("workload log: the mailbox page adds heartbeats and passes to the console's", () => {
  const page = new DataView(new ArrayBuffer(4096));
  const put = (word: number, value: bigint) => page.setBigUint64(8 * word, value, true);
  put(0, MAILBOX_MAGIC);
  put(1, 0xc527b6f0n);
  put(2, 0n);
  // heartbeats 400 and 401 (ring slots 16, 17), pass 70 (ring slot 10)
  put(8 + (400 % 384), (400n << 40n) | 50_000_000n);
  put(8 + (401 % 384), (401n << 40n) | 50_025_000n);
  put(392 + 2 * (70 % 60), 70n);
  put(392 + 2 * (70 % 60) + 1, 50_100_000n);
  const logs = parse([
    "WL c527b6f0 mailbox 7e3f",
    "WL c527b6f0 hb 399 49.975000",
    "WL c527b6f0 pass 69 bad=0 static_bad=0 total_bad=0 ms=3 t=49.9",
  ]);
  assert.equal(logs.get("c527b6f0")!.mailboxPfn, 0x7e3f);
  assert.equal(addMailboxPage(logs, new Uint8Array(page.buffer)), "c527b6f0");
  const log = logs.get("c527b6f0")!;
  assert.deepEqual(lastHeartbeat(log), { seq: 401, t: 50.025 });
  assert.equal(lastPass(log)?.pass, 70);
  assert.equal(largestHeartbeatGap(log, 399).seconds.toFixed(3), "0.025");
  assert.equal(addMailboxPage(logs, new Uint8Array(4096)), null, "no magic, no mailbox");
});
