/**
 * The test command (`deno task test`, what `.ci/run` runs): prepares what
 * the suite needs on a fresh machine — the simulator library (built with
 * `cc`) and Debian's Xen 4.17 reference packages — then runs every test,
 * documentation examples included, and ends with one line
 * `N passed, N failed, N skipped` that CI's log reader recognises.
 *
 * Arguments are passed to `deno test` (e.g. a path to run a subset).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { xenReference } from "./support/xen_packages.ts";
import { labUnavailable } from "./xen/lab/availability.ts";

const root = fromFileUrl(new URL("../", import.meta.url));
const cache = join(root, ".cache");
await Deno.mkdir(cache, { recursive: true });

// 1. The simulator, when the tree has one.
const build = join(root, "native", "build.ts");
if (existsSync(build)) {
  const { buildSimulator } = await import(build);
  console.log(`simulator: ${await buildSimulator()}`);
}

// 2. The reference tools; tests that need them are skipped visibly without.
const ref = await xenReference();
console.log(
  typeof ref === "string"
    ? `xen reference: UNAVAILABLE (${ref}); differential tests will be skipped`
    : `xen reference: ${ref.root}`,
);

// 3. The suite.
const junit = join(cache, "junit.xml");
const labJunit = join(cache, "junit-xen-lab.xml");
for (const f of [junit, labJunit]) await Deno.remove(f).catch(() => {}); // never count an old report
const args = Deno.args.length ? Deno.args : ["."];
const status = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--doc", `--junit-path=${junit}`, ...args],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;

// 4. The real-Xen lab (tests/xen), on a full run: Debian's Xen 4.17 under
// QEMU.  It needs root and apt (for the packages and QEMU); where those
// are missing it is reported as skipped, never silently left out.
let labFailed = false, labSkipped = 0;
if (Deno.args.length === 0) {
  const why = labUnavailable();
  if (why) {
    console.log(`xen lab: SKIPPED (${why})`);
    labSkipped = 1;
  } else {
    const lab = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", `--junit-path=${labJunit}`, "tests/xen/xen_lab_suite.ts"],
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    labFailed = !lab.success;
  }
}

// 5. One summary line from the JUnit reports (steps counted as tests).
let passed = 0, failed = 0, skipped = labSkipped;
for (const report of [junit, labJunit]) {
  if (!existsSync(report)) continue;
  const xml = await Deno.readTextFile(report);
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? "";
    if (/<failure\b/.test(body) || /<error\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
}
// e.g. a type error before any test ran, or a lab that died before reporting
if ((!status.success || labFailed) && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
Deno.exit(failed ? 1 : 0);
