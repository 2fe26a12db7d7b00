/**
 * `deno task fuzz`: fuzzes every reader with mutated valid streams and
 * reports inputs, failures, hangs and peak RSS per target; failing inputs
 * are saved to `tests/fuzz/crashers/` (replayed by every test run).
 *
 * ```sh
 * deno task fuzz                     # 20 000 inputs per target, seed 1
 * deno task fuzz --long              # 1 000 000 inputs per target, random seed
 * XENMIG_FUZZ_LONG=1 deno task fuzz  # the same
 * deno task fuzz --targets parse,restore --inputs 50000 --seed 7 --json report.json
 * ```
 *
 * Options: `--long`, `--targets a,b`, `--inputs N`, `--seconds N` (cap per
 * target), `--seed N`, `--timeout MS` (hang), `--concurrency N`,
 * `--no-save`, `--crashers DIR` (where to save; default `tests/fuzz/crashers/`),
 * `--json FILE`.  Exit code 1 when anything failed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runCampaign } from "./campaign.ts";
import { CRASHERS_DIR } from "./crashers.ts";
import { formatReport } from "./report.ts";
import { legacySeeds, v2Seeds } from "./seeds.ts";
import { TARGET_NAMES } from "./targets.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    long: { type: "boolean", default: false },
    targets: { type: "string" },
    inputs: { type: "string" },
    seconds: { type: "string" },
    seed: { type: "string" },
    timeout: { type: "string" },
    concurrency: { type: "string" },
    "no-save": { type: "boolean", default: false },
    json: { type: "string" },
    crashers: { type: "string" },
  },
});

const long = values.long || Deno.env.get("XENMIG_FUZZ_LONG") === "1";
const targets = values.targets?.split(",") ?? [...TARGET_NAMES];
const inputs = Number(values.inputs ?? (long ? 1_000_000 : 20_000));
const seed = Number(values.seed ?? (long ? (Date.now() % 0x7fffffff) : 1));
console.log(`fuzz: ${targets.join(", ")}; ${inputs} inputs per target; seed ${seed}`);

let legacy: Awaited<ReturnType<typeof legacySeeds>> = [];
if (targets.includes("legacy")) {
  try {
    legacy = await legacySeeds();
  } catch (e) {
    console.log(`fuzz: legacy seeds unavailable (${(e as Error).message}); skipping legacy`);
    targets.splice(targets.indexOf("legacy"), 1);
  }
}
const report = await runCampaign({
  targets,
  inputs,
  seed,
  seeds: { v2: await v2Seeds(), legacy },
  maxSeconds: values.seconds === undefined ? undefined : Number(values.seconds),
  timeoutMs: values.timeout === undefined ? undefined : Number(values.timeout),
  concurrency: values.concurrency === undefined ? 2 : Number(values.concurrency),
  crashersDir: values["no-save"] ? undefined : values.crashers ?? CRASHERS_DIR,
  log: (line) => console.log(line),
});
console.log(formatReport(report, seed));
if (values.json) {
  const tmp = `${values.json}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify({ seed, ...report }, null, 2) + "\n");
  await Deno.rename(tmp, values.json);
}
Deno.exit(report.targets.some((t) => t.failureCount > 0) ? 1 : 0);
