/**
 * Replays every saved crasher (`tests/fuzz/crashers/*.bin`) through the
 * target it once failed, in a worker with the fuzzer's checks (typed error
 * with an offset, bounded allocation, no leak, no hang): each must now be
 * accepted or rejected cleanly.  One test step per crasher.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { replayInputs } from "./campaign.ts";
import { loadCrashers } from "./crashers.ts";

const FAILURE_KINDS = new Set(["crash", "invariant", "bad-error", "alloc", "leak", "hang"]);

Deno.test("fuzz crashers replay cleanly", async (t) => {
  const crashers = await loadCrashers();
  assert(crashers.length > 0, "tests/fuzz/crashers/ holds the fixed bugs' inputs");
  const targets = [...new Set(crashers.map((c) => c.meta.target))];
  for (const target of targets) {
    const mine = crashers.filter((c) => c.meta.target === target);
    const results = await replayInputs(target, mine.map((c) => c.input));
    for (const [i, c] of mine.entries()) {
      const name = c.path.split("/").pop()!;
      await t.step(`${name} (${c.meta.kind}: ${c.meta.message.slice(0, 80)})`, () => {
        const r = results[i];
        assertEquals(
          FAILURE_KINDS.has(r.outcome) ? `${r.outcome}: ${r.message}` : "clean",
          "clean",
          `${name} still fails ${target}`,
        );
      });
    }
  }
});
