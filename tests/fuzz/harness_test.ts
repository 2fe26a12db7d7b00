/**
 * The fuzz harness catches what it claims to: deliberately broken targets
 * (`testdata/faulty_targets.ts`) must each be reported with the right kind
 * of failure — an allocation sized from a length field, an untyped
 * exception, a hang, a native crash (pinned to its input), a bad offset, a
 * leaked domain, an out-of-range access — and a clean target must not be.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { WatchedSimulator } from "./targets.ts";
import { type FailureKind, runCampaign } from "./campaign.ts";
import { corpusSeeds } from "./seeds.ts";

const seeds = { v2: await corpusSeeds(), legacy: [] };
const targetModule = new URL("./testdata/faulty_targets.ts", import.meta.url).href;

async function failuresOf(target: string, inputs: number, timeoutMs = 5000) {
  const dir = await Deno.makeTempDir();
  try {
    const report = await runCampaign({
      targets: [target],
      inputs,
      seed: 3,
      seeds,
      targetModule,
      timeoutMs,
      batch: 500,
      crashersDir: dir,
    });
    const t = report.targets[0];
    const saved = [...Deno.readDirSync(dir)].map((e) => e.name);
    const sizes = new Map(saved.map((n) => [n, Deno.statSync(`${dir}/${n}`).size]));
    return { t, saved, sizes };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function kinds(t: { failures: { kind: FailureKind }[] }): Set<FailureKind> {
  return new Set(t.failures.map((f) => f.kind));
}

Deno.test("harness: an allocation sized from a claimed length is caught", async () => {
  const { t, saved } = await failuresOf("alloc-claimed", 1500);
  assert(kinds(t).has("alloc"), `failures: ${JSON.stringify(t.failures)}`);
  assert(t.failures.some((f) => /Uint8Array\(\d+\)|refused Uint8Array/.test(f.message)));
  assert(saved.some((n) => n.endsWith(".bin")) && saved.some((n) => n.endsWith(".json")));
});

Deno.test("harness: an untyped exception is a crash", async () => {
  const { t } = await failuresOf("type-error", 300);
  assert(kinds(t).has("crash"));
  assert(t.failures.some((f) => f.message.startsWith("TypeError")));
});

Deno.test("harness: a hang is detected, saved, and the campaign goes on", async () => {
  const { t, saved } = await failuresOf("hang", 600, 1500);
  assert(t.hangs > 0, "a hang was detected");
  assertEquals(t.stats.inputs, 600, "every input was run or counted");
  assert(saved.length >= 2);
});

Deno.test("harness: a native crash is pinned to the input that causes it", async () => {
  const { t, saved, sizes } = await failuresOf("native-crash", 400);
  const crash = t.failures.find((f) => f.kind === "crash");
  assert(crash, `failures: ${JSON.stringify(t.failures)}`);
  assertStringIncludes(crash.message, "host died");
  assertEquals(t.stats.inputs, 400, "every input was run or counted");
  // The saved input is one that crashes (length ≡ 7 mod 89), not a neighbour.
  const bins = saved.filter((n) => n.endsWith(".bin"));
  assert(bins.length > 0);
  for (const b of bins) assertEquals(sizes.get(b)! % 89, 7);
});

Deno.test("harness: a typed error must carry an offset within the input", async () => {
  const { t } = await failuresOf("bad-offset", 100);
  assert(kinds(t).has("bad-error"));
});

Deno.test("harness: a leaked domain and an out-of-range access are caught", async () => {
  const { t } = await failuresOf("sim-faults", 200);
  assert(t.failures.some((f) => f.message.includes("left behind")));
  assert(t.failures.some((f) => f.message.includes("out-of-range")));
});

Deno.test("harness: a clean target reports nothing", async () => {
  const { t, saved } = await failuresOf("clean", 500);
  assertEquals(t.failureCount, 0);
  assertEquals(saved, []);
  assertEquals(t.stats.inputs, 500);
});

Deno.test("harness: a xenstore node left behind is caught", async () => {
  const watched = new WatchedSimulator();
  await watched.open();
  try {
    assertEquals(watched.check(), undefined);
    watched.session.hv.xenstore.write("/leaked/by/an/input", "x");
    assertStringIncludes(watched.check() ?? "", "4 xenstore nodes left behind");
    assertEquals(watched.check(), undefined, "reported once");
  } finally {
    watched.close();
  }
});
