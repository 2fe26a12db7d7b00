/**
 * Differential tests: every fixture is converted by Xen 4.17's
 * `convert-legacy-stream` and by ours, to libxc and to libxl.  Exit codes
 * must be equal (and as recorded in the fixture), outputs byte-identical,
 * and every converted output must pass our verifier and Xen's
 * `verify-stream-v2`.
 *
 * Xen's verifier rejects every non-empty EMULATOR_XENSTORE_DATA record under
 * Python 3 (it compares an int with a str: "Data not NUL terminated").  For
 * outputs holding one, that exact failure is asserted, and the output must
 * then pass a copy of the verifier with just that comparison fixed.
 *
 * Valid images are also converted with `-w` and `-g` left out: detection
 * must produce the same bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { XenReference } from "../support/xen_packages.ts";
import { type Fixture, invalidFixtures, validFixtures } from "./fixtures.ts";
import {
  assertVerifies,
  firstDifference,
  IGNORE_WITHOUT_XEN,
  readIfExists,
  REF,
  runOurs,
  runXen,
  tempFile,
} from "./harness.ts";

const FORMATS = ["libxc", "libxl"] as const;

function argsFor(
  f: Fixture,
  input: string,
  format: string,
  output: string,
  detect = false,
): string[] {
  const layout = detect ? [] : ["-w", String(f.width), "-g", f.guest];
  return ["-i", input, "-o", output, ...layout, "-f", format, ...(f.flags ?? [])];
}

/** The format to verify a converted output as. */
function verifyFormat(f: Fixture, format: "libxc" | "libxl"): "libxc" | "libxl" | "xl" {
  return f.flags?.includes("-x") ? "xl" : format;
}

async function compare(ref: XenReference, f: Fixture, dir: string): Promise<void> {
  const input = await tempFile(f.bytes, dir);
  await Promise.all(FORMATS.map(async (format) => {
    const what = `${f.name} [-f ${format}]`;
    const xenOut = `${input}.xen.${format}`;
    const ourOut = `${input}.ours.${format}`;
    const [xen, ours] = await Promise.all([
      runXen(ref, argsFor(f, input, format, xenOut), f.xenFix),
      runOurs(argsFor(f, input, format, ourOut)),
    ]);
    assert.equal(xen.code, f.expect[format], `${what}: Xen's exit code; stderr: ${xen.stderr}`);
    assert.equal(ours.code, xen.code, `${what}: our exit code; stderr: ${ours.stderr}`);
    const ourBytes = await readIfExists(ourOut);
    if (ours.code !== 0) {
      // One line saying what and where, no stack trace; and no output file.
      const lines = ours.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${what}: ${ours.stderr}`);
      assert.ok(/offset \d+/.test(lines[0]), `${what}: no offset in "${lines[0]}"`);
      assert.equal(ourBytes, undefined, `${what}: a failed conversion left ${ourOut}`);
      return;
    }
    const xenBytes = await readIfExists(xenOut);
    assert.ok(xenBytes, `${what}: no output from Xen`);
    assert.ok(ourBytes, `${what}: no output from ours`);
    assert.equal(firstDifference(ourBytes, xenBytes), undefined, `${what}: outputs differ`);
    if (!f.unverifiable) await assertVerifies(ref, ourOut, ourBytes, verifyFormat(f, format), what);
    if (!f.undetectable) {
      const detected = `${input}.detected.${format}`;
      const d = await runOurs(argsFor(f, input, format, detected, true));
      assert.equal(d.code, 0, `${what}: with -w/-g detected: ${d.stderr}`);
      const dBytes = await readIfExists(detected);
      assert.ok(dBytes, `${what}: no output with -w/-g detected`);
      assert.equal(firstDifference(dBytes, xenBytes), undefined, `${what}: detected run differs`);
    }
  }));
}

function suite(name: string, fixtures: () => Fixture[]): void {
  Deno.test({
    name,
    ignore: IGNORE_WITHOUT_XEN,
    async fn(t) {
      const ref = REF as XenReference;
      const dir = await Deno.makeTempDir({ prefix: "legacy-diff-" });
      try {
        for (const f of fixtures()) await t.step(f.name, () => compare(ref, f, dir));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

suite("legacy images Xen converts: same exit code, same bytes, outputs verify", validFixtures);
suite("legacy images Xen rejects: same exit code, one-line error, no output file", invalidFixtures);
