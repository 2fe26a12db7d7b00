/**
 * The CI fuzz budget: every target, a fixed seed and a fixed number of
 * inputs (about a minute on two cores), part of every test run.  Any
 * failure — untyped exception, exit code 2, a typed error without a sane
 * offset, an allocation beyond the input's size plus the fixed bound, a
 * leaked domain/mapping/buffer, an out-of-range or hole access, a hang —
 * fails the test and is saved under `tests/fuzz/crashers/`, where
 * `crashers_test.ts` replays it from then on.
 *
 * `deno task fuzz --long` runs a million inputs per target.
 *
 * @module
 */

import { assertEquals } from "./assert.ts";
import { runCampaign, type TargetReport } from "./campaign.ts";
import { CRASHERS_DIR } from "./crashers.ts";
import { formatReport } from "./report.ts";
import { legacySeeds, v2Seeds } from "./seeds.ts";

/** Inputs per target in CI (seed 1). */
export const CI_BUDGET: Readonly<Record<string, number>> = {
  parse: 20_000,
  verify: 40_000,
  "verify-strict": 30_000,
  legacy: 15_000,
  restore: 15_000,
};
const SEED = 1;

let legacy: Awaited<ReturnType<typeof legacySeeds>> = [];
let legacyWhy = "";
try {
  legacy = await legacySeeds();
} catch (e) {
  legacyWhy = (e as Error).message;
}

Deno.test("fuzz: CI budget over every reader finds nothing", async (t) => {
  const targets = Object.keys(CI_BUDGET).filter((n) => n !== "legacy" || legacy.length > 0);
  // The slowest targets first, so the two workers finish together.
  const order = ["legacy", "restore", "parse", "verify-strict", "verify"];
  const report = await runCampaign({
    targets: order.filter((n) => targets.includes(n)),
    inputs: CI_BUDGET,
    seed: SEED,
    seeds: { v2: await v2Seeds(), legacy },
    maxSeconds: 150,
    crashersDir: CRASHERS_DIR,
  });
  console.log(formatReport(report, SEED));
  const reports = new Map<string, TargetReport>(report.targets.map((r) => [r.target, r]));
  for (const name of Object.keys(CI_BUDGET)) {
    const r = reports.get(name);
    await t.step({
      name: `${name}: ${r ? `${r.stats.inputs} inputs` : `skipped (${legacyWhy})`}`,
      ignore: r === undefined,
      fn: () => {
        assertEquals(
          r!.failures.map((f) => `${f.kind}: ${f.message.split("\n")[0]} (${f.saved})`),
          [],
        );
      },
    });
  }
});
