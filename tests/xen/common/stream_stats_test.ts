/**
 * Unit tests of the migration stream statistics: passes counted both as
 * the most sends of one pfn and as restarts of the ascending pfn order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PageCounter } from "./stream_stats.ts";

/** A PAGE_DATA body: count, reserved, then one u64 entry per pfn (type 0). */
function pageData(pfns: number[]): Uint8Array {
  const body = new Uint8Array(8 + 8 * pfns.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, pfns.length, true);
  pfns.forEach((p, i) => v.setUint32(8 + 8 * i, p, true));
  return body;
}

Deno.test("stream stats: one pass of a non-live save", () => {
  const c = new PageCounter();
  c.add(pageData([0, 1, 2, 3]));
  c.add(pageData([4, 5, 6]));
  assert.deepEqual(c.stats(100), {
    streamBytes: 100,
    pageRecords: 2,
    pagesSent: 7,
    uniquePfns: 7,
    maxSends: 1,
    passes: 1,
  });
});

Deno.test("stream stats: precopy iterations re-send the dirty pages", () => {
  const c = new PageCounter();
  c.add(pageData([0, 1, 2, 3, 4, 5])); // iteration 1: everything
  c.add(pageData([2, 3])); // iteration 2: dirty pages
  c.add(pageData([3])); // stop-and-copy
  const s = c.stats(0);
  assert.equal(s.passes, 3);
  assert.equal(s.maxSends, 3);
  assert.equal(s.uniquePfns, 6);
  assert.equal(s.pagesSent, 9);
});
