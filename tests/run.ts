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
await Deno.remove(junit).catch(() => {}); // never count a previous run's report
const args = Deno.args.length ? Deno.args : ["."];
const status = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--doc", `--junit-path=${junit}`, ...args],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;

// 4. One summary line from the JUnit report (steps counted as tests).
let passed = 0, failed = 0, skipped = 0;
if (existsSync(junit)) {
  const xml = await Deno.readTextFile(junit);
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? "";
    if (/<failure\b/.test(body) || /<error\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
}
if (!status.success && failed === 0) failed = 1; // e.g. a type error before any test ran
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
Deno.exit(status.success && failed === 0 ? 0 : 1);
