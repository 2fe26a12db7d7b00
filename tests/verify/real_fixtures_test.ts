/**
 * The streams Xen 4.17 really wrote pass, plain and `--strict`, and the
 * `-v` output matches Xen's own `verify-stream-v2` output recorded beside
 * them, line for line.  Each fixture is verified once per mode.
 *
 * @module
 */

import assert from "node:assert/strict";
import { REAL_FIXTURES, realFixture, referenceOutput } from "../support/corpus/fixtures.ts";
import { lines, runOurs, runReference } from "../support/corpus/processes.ts";
import { xenReference } from "../support/xen_packages.ts";

/** `xl migrate`'s final message, which ends the capture of a migration. */
const MIGRATE_TRAILER_BYTES = "domain is yours, you are cleared to unpause\0".length;

const HVM_ORDER_WARNING = /^Warning: HVM_CONTEXT precedes HVM_PARAMS: .* \(offset \d+\)$/;

for (const name of REAL_FIXTURES) {
  Deno.test(`real Xen stream ${name}: -v output matches Xen's line for line`, async () => {
    const path = await realFixture(name);
    const r = await runOurs(["-v", "-f", "xl", "-i", path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(lines(r.stdout), lines(await referenceOutput(name)));
  });

  Deno.test(`real Xen stream ${name}: --strict passes, warning only about Xen's HVM record order`, async () => {
    const path = await realFixture(name);
    const r = await runOurs(["--strict", "-v", "-f", "xl", "-i", path]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), lines(await referenceOutput(name)));
    const warnings = lines(r.stderr);
    if (name === "pv96.save") assert.deepEqual(warnings, []); // PV: no HVM records
    else {
      assert.equal(warnings.length, 1, r.stderr);
      assert.match(warnings[0], HVM_ORDER_WARNING);
    }
  });

  Deno.test(`real Xen stream ${name}: --json accounts for every byte of the stream`, async () => {
    const path = await realFixture(name);
    const size = (await Deno.stat(path)).size;
    const r = await runOurs(["--json", "-f", "xl", "-i", path]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.valid, true);
    assert.equal(s.bytes, name.endsWith(".mig") ? size - MIGRATE_TRAILER_BYTES : size);
    assert.equal(s.xenVersion, "4.17");
    assert.equal(s.version, 3);
    assert.ok(s.uniquePfns > 20_000 && s.pagesWithData > 20_000, JSON.stringify(s));
    // A live migration re-sends pages dirtied during precopy; a save does not.
    if (name.endsWith(".mig")) assert.ok(s.pfnsSentMoreThanOnce > 0);
    else assert.equal(s.pfnsSentMoreThanOnce, 0);
    assert.equal(s.records.libxl.END, 1);
    assert.equal(s.records.libxc.END, 1);
  });
}

const ref = await xenReference();
Deno.test({
  name: "real Xen streams: the recorded outputs are what Xen's verify-stream-v2 prints today",
  ignore: typeof ref === "string",
  async fn() {
    if (typeof ref === "string") return;
    for (const name of REAL_FIXTURES) {
      const x = await runReference(ref, ["-v", "-f", "xl", "-i", await realFixture(name)]);
      assert.equal(x.code, 0, x.stderr);
      assert.equal(x.stdout, await referenceOutput(name));
    }
  },
});
