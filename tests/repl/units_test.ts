/**
 * The REPL's pure parts: the `until` grammar, the heat map, hot ranges,
 * the hex dump, the record log, history, line splitting, completion.
 *
 * @module
 */

import assert from "node:assert/strict";
import { completeLine } from "../../cli/repl/completion.ts";
import { ConditionSyntaxError, parseCondition } from "../../cli/repl/condition.ts";
import { countDirty } from "../../cli/repl/dirty_bits.ts";
import { heatMap, renderHeatMap } from "../../cli/repl/heat_map.ts";
import { History, HISTORY_SIZE, historyPath } from "../../cli/repl/history.ts";
import { hexDump } from "../../cli/repl/hex_dump.ts";
import { hottestRanges } from "../../cli/repl/hot_ranges.ts";
import { STATS_FIELD_NAMES, statsFieldValues } from "../../cli/repl/stats_fields.ts";
import { compileUserCode, UserCodeError } from "../../cli/repl/user_code.ts";
import { splitCommandLine } from "../../cli/repl/words.ts";
import { testRepl } from "./_support.ts";

const names = ["dirty", "iter", "p2m"];

Deno.test("until conditions: precedence, arithmetic, names, and/or/not", () => {
  const v = { dirty: 400, iter: 3, p2m: 1000 };
  const t = (src: string) => parseCondition(src, names).test(v);
  assert.equal(t("dirty < 500"), true);
  assert.equal(t("dirty <= 400 && iter == 3"), true);
  assert.equal(t("dirty < 100 or iter >= 3"), true);
  assert.equal(t("dirty < 100 || iter > 3"), false);
  assert.equal(t("not dirty < 500"), false);
  assert.equal(t("!(dirty < 100) and true"), true);
  assert.equal(t("dirty * 100 / p2m < 50"), true, "40% < 50");
  assert.equal(t("dirty - 2 * 100 = 200"), true, "* binds tighter than -");
  assert.equal(t("(dirty - 2) * 100 == 39800"), true);
  assert.equal(t("-dirty < 0"), true);
  assert.equal(t("iter % 2 != 0"), true);
  assert.equal(t("dirty < 1_000"), true);
  assert.equal(t("false or iter >= 3 and dirty > 1000"), false, "and binds tighter than or");
  assert.deepEqual(parseCondition("dirty < 5 or iter > 2", names).names, ["dirty", "iter"]);
});

Deno.test("until conditions reject anything else with a message saying where", () => {
  const bad: [string, RegExp][] = [
    ["", /empty condition/],
    ["dirty", /is a number, not a condition/],
    ["dirty <", /expected a number, a name or '\(' at column 8, got the end/],
    ["dirty < 5 5", /expected an operator or the end at column 11/],
    ["dirty < 5 < 6", /'and' or 'or' between comparisons/],
    ["Deno.exit(1)", /unexpected '\.' at column 5/],
    ["exit < 1", /unknown name 'exit'/],
    ["dirty < 'x'", /unexpected '''/],
    ["dirty and iter", /'and' needs true\/false on both sides/],
    ["(dirty < 5) + 1 > 0", /'\+' needs numbers/],
    ["(dirty < 5", /expected '\)'/],
    ["dirty < 5; x", /unexpected ';' at column 10/],
  ];
  for (const [src, message] of bad) {
    assert.throws(() => parseCondition(src, names), (e: Error) => {
      assert.ok(e instanceof ConditionSyntaxError, `${src}: ${e}`);
      assert.match(e.message, message, src);
      return true;
    });
  }
});

Deno.test("stats fields: every name (and alias) parses in a condition and has a value", () => {
  const s = {
    iteration: 2,
    dirtyCount: 300,
    p2mSize: 1000,
    totalPagesSent: 1200,
    history: [
      { iteration: 0, pagesSent: 1000, bytesSent: 4_104_000, durationMs: 100, dirtyCount: 500 },
      { iteration: 1, pagesSent: 500, bytesSent: 2_052_000, durationMs: 50, dirtyCount: 300 },
    ],
    pageWireBytes: 4104,
  };
  const v = statsFieldValues(s, 6_156_000);
  for (const n of STATS_FIELD_NAMES) {
    assert.equal(typeof v[n], "number", n);
    assert.ok(parseCondition(`${n} >= 0 or ${n} < 0`, STATS_FIELD_NAMES).test(v), n);
  }
  assert.equal(v.pages, 500);
  assert.equal(v.ms, 50);
  assert.equal(v.dirtyPct, 30);
  assert.equal(v.bytes, 6_156_000);
  assert.ok(Math.abs(v.bandwidth - 6_156_000 / 0.15 / 2 ** 20) < 1e-9);
  // Paused for what a last live pass of the 300 leaves: 300 x 300/500.
  assert.ok(Math.abs(v.downtime - (180 * 4104 * 1000) / (6_156_000 / 0.15)) < 1e-9);
});

Deno.test("heat map: cells cover equal pfn runs, scale to the size, and any dirt shows", () => {
  const p2m = 10_000;
  const bitmap = new Uint8Array(Math.ceil(p2m / 8));
  const dirty = [0, 1, 5000, 9999];
  for (const p of dirty) bitmap[p >> 3] |= 1 << (p & 7);
  const h = heatMap(bitmap, p2m, { width: 50, height: 10 });
  assert.equal(h.pfnsPerCell, 20);
  assert.equal(h.columns, 50);
  assert.equal(h.rows, 10);
  assert.equal(h.counts.length, 500);
  assert.equal(h.dirty, 4);
  assert.equal(h.counts[0], 2);
  assert.equal(h.counts[250], 1);
  assert.equal(h.counts[499], 1);
  const lines = renderHeatMap(h).split("\n");
  assert.equal(lines.length, 11, "10 rows and a legend");
  assert.match(lines[0], /^ *0x0 ░·{49}$/);
  assert.match(lines[5], /^ *0x1388 ░·{49}$/);
  assert.match(lines[9], /·{49}░$/);
  assert.match(lines[10], /^4 of 10000 pfns dirty \(0\.04%\); each cell 20 pfns/);
  const full = heatMap(new Uint8Array(2).fill(0xff), 16, { width: 100, height: 100 });
  assert.equal(full.pfnsPerCell, 1);
  assert.equal(full.columns, 16, "no wider than needed");
  assert.equal(renderHeatMap(full).split("\n")[0].endsWith("█".repeat(16)), true);
});

Deno.test("dirty counting agrees with a bit-by-bit count on unaligned ranges", () => {
  const bitmap = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
  for (const [from, to] of [[0, 512], [3, 500], [7, 9], [100, 101], [0, 0], [13, 77]]) {
    let n = 0;
    for (let p = from; p < to; p++) n += (bitmap[p >> 3] >> (p & 7)) & 1;
    assert.equal(countDirty(bitmap, from, to), n, `${from}..${to}`);
  }
});

Deno.test("hot ranges: hottest first, ties by pfn, clean ranges left out, short last range", () => {
  const p2m = 1300;
  const bitmap = new Uint8Array(Math.ceil(p2m / 8));
  const set = (p: number) => (bitmap[p >> 3] |= 1 << (p & 7));
  for (let p = 1024; p < 1030; p++) set(p); // 6 in the last (short) range
  for (let p = 0; p < 6; p++) set(p); // 6 in the first
  const top = hottestRanges(bitmap, p2m, { count: 5 });
  assert.deepEqual(top, [
    { first: 0, last: 511, dirty: 6, size: 512 },
    { first: 1024, last: 1299, dirty: 6, size: 276 },
  ]);
  assert.equal(hottestRanges(bitmap, p2m, { count: 1 }).length, 1);
  assert.deepEqual(hottestRanges(bitmap, p2m, { rangePfns: 4, count: 2 }).map((r) => r.first), [
    0,
    1024,
  ]);
});

Deno.test("hex dump: hexdump -C layout, repeats folded, partial last line", () => {
  const bytes = new Uint8Array(40);
  bytes.set(new TextEncoder().encode("Xen\x00\x01"), 0);
  const lines = hexDump(bytes, 0x1000).split("\n");
  assert.deepEqual(lines, [
    "00001000  58 65 6e 00 01 00 00 00  00 00 00 00 00 00 00 00  |Xen.............|",
    "00001010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
    "00001020  00 00 00 00 00 00 00 00                           |........|",
    "00001028",
  ]);
});

Deno.test("history: XDG path, newest first, no blanks or repeats, trimmed, reloaded", async () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  assert.equal(
    historyPath(env({ XDG_STATE_HOME: "relative", HOME: "/h" })),
    "/h/.local/state/xenmig/repl_history",
  );
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/deep/xenmig/repl_history`;
    const h = await History.load(path);
    await h.add("start");
    await h.add("   ");
    await h.add("step");
    await h.add("step");
    await h.add("policy s.dirtyCount\n< 5");
    assert.deepEqual((await History.load(path)).newestFirst(), [
      "policy s.dirtyCount < 5",
      "step",
      "start",
    ]);
    for (let i = 0; i < HISTORY_SIZE + 5; i++) await h.add(`cmd ${i}`);
    const again = await History.load(path);
    assert.equal(again.newestFirst().length, HISTORY_SIZE);
    assert.equal(again.newestFirst()[0], `cmd ${HISTORY_SIZE + 4}`);
    const unwritable = await History.load("/proc/xenmig-no/repl_history");
    assert.match((await unwritable.add("x"))!, /history not saved/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("line splitting: command word, raw rest, '.' for eval", () => {
  assert.deepEqual(splitCommandLine("  run   3 "), { name: "run", rest: "3", args: ["3"] });
  assert.deepEqual(splitCommandLine("quit!"), { name: "quit!", rest: "", args: [] });
  assert.equal(splitCommandLine(". 1 + 1").rest, "1 + 1");
  assert.equal(splitCommandLine("policy s.dirtyCount  <  5").rest, "s.dirtyCount  <  5");
});

Deno.test("user code: JavaScript, TypeScript, statements, await; errors say it is neither", async () => {
  assert.equal((await compileUserCode("a + b", ["a", "b"]))(2, 3), 5);
  assert.equal((await compileUserCode("(a as number) + 1", ["a"]))(41), 42);
  assert.equal(
    await (await compileUserCode("await a", ["a"], { async: true }))(Promise.resolve(7)),
    7,
  );
  assert.equal(
    (await compileUserCode("const x: number = a; return x * 2", ["a"], { statements: true }))(4),
    8,
  );
  await assert.rejects(() => compileUserCode("a +", ["a"]), UserCodeError);
  await assert.rejects(() => compileUserCode("  ", ["a"]), /nothing to evaluate/);
});

Deno.test("completion: commands, then each command's arguments", async () => {
  await using r = await testRepl("mem=64M,rate=0");
  const s = r.session;
  assert.deepEqual(completeLine("st", s), [["start", "stats", "status", "step"], "st"]);
  assert.deepEqual(completeLine("quit", s), [["quit", "quit!"], "quit"]);
  assert.deepEqual(completeLine("zz", s), [[], "zz"]);
  assert.deepEqual(completeLine("policy down", s), [
    ["downtime", "downtime:100", "downtime:300"],
    "down",
  ]);
  assert.deepEqual(completeLine("policy ", s)[0], [
    "xen",
    "downtime",
    "downtime:100",
    "downtime:300",
  ]);
  assert.deepEqual(completeLine("workload 100 ho", s), [["hot:5%", "hot:1%"], "ho"]);
  assert.deepEqual(completeLine("workload b", s)[0], ["bursty", "bursty:100/400"]);
  assert.deepEqual(completeLine("help fi", s), [["finish"], "fi"]);
  assert.deepEqual(completeLine("until dirty < 5 or it", s), [["iter", "iteration"], "it"]);
  assert.ok(completeLine(`attach `, s)[0].includes(String(r.domid)));
  assert.deepEqual(completeLine(".eng", s), [[".engine"], ".eng"]);
  assert.deepEqual(completeLine("eval engine.pha", s), [["engine.phase"], "engine.pha"]);
  assert.ok(completeLine("eval domain.", s)[0].includes("domain.pause"));
  assert.deepEqual(completeLine("step ", s), [[], ""], "no arguments to complete");
});
