import assert from "node:assert/strict";
import {
  downtimePolicy,
  estimateDowntime,
  type IterationStats,
  policyByName,
  type PrecopyStats,
  userPolicy,
  xenPolicy,
} from "../../lib/engine/policy.ts";

const PAGE = 4104;

function stats(history: IterationStats[], p2mSize = 262144): PrecopyStats {
  const last = history[history.length - 1];
  return {
    iteration: history.length,
    dirtyCount: last.dirtyCount,
    p2mSize,
    totalPagesSent: history.reduce((n, h) => n + h.pagesSent, 0),
    history,
    pageWireBytes: PAGE,
  };
}

/** An iteration over a link of `pagesPerSecond`. */
function pass(iteration: number, pagesSent: number, dirtyCount: number, pagesPerSecond = 262144): IterationStats {
  return { iteration, pagesSent, bytesSent: pagesSent * PAGE, durationMs: (pagesSent / pagesPerSecond) * 1000, dirtyCount };
}

Deno.test("xen policy: Xen's simple_precopy_policy decisions", () => {
  // Every (iteration, dirty) point on both sides of both thresholds.
  for (const iteration of [1, 4, 5, 6]) {
    for (const dirty of [0, 49, 50, 100000]) {
      const want = dirty < 50 || iteration >= 5 ? "stop-and-copy" : "continue";
      const s = { ...stats([pass(0, 1, dirty)]), iteration, dirtyCount: dirty };
      assert.equal(xenPolicy.decide(s), want, `iteration ${iteration}, dirty ${dirty}`);
    }
  }
});

Deno.test("downtime policy: keeps iterating while passes shrink the dirty set cheaply", () => {
  const p = downtimePolicy();
  const h = [pass(0, 262144, 13000), pass(1, 13000, 4000), pass(2, 4000, 1300)];
  assert.equal(p.decide(stats(h)), "continue");
  assert.match(p.explain!(stats(h)), /^continue: next pass predicted to leave \d+ of 1300/);
});

Deno.test("downtime policy: stops once the set stops shrinking and fits the target", () => {
  const p = downtimePolicy({ targetDowntimeMs: 300 });
  const h = [pass(0, 262144, 2000), pass(1, 2000, 1950), pass(2, 1950, 1960)];
  assert.equal(p.decide(stats(h)), "stop-and-copy");
  assert.match(p.explain!(stats(h)), /no longer shrinks/);
});

Deno.test("downtime policy: a guest dirtying faster than the link aborts only when asked to", () => {
  // 25 600 pages/s link (100 MiB/s); the set stays at 100 000 pages (~3.9 s of downtime).
  const h = [pass(0, 262144, 100000, 25600), pass(1, 100000, 100000, 25600)];
  assert.equal(downtimePolicy().decide(stats(h)), "stop-and-copy");
  assert.equal(downtimePolicy({ maxDowntimeMs: 2000 }).decide(stats(h)), "abort");
  const e = estimateDowntime(stats(h));
  assert.ok(e.downtimeMs > 3800 && e.downtimeMs < 4000, `estimate ${e.downtimeMs}`);
});

Deno.test("downtime policy: never exceeds its extra-page budget or iteration cap", () => {
  const slow: IterationStats[] = [pass(0, 262144, 40000)];
  for (let i = 1; i < 5; i++) slow.push(pass(i, 40000, 30000 - i * 3000));
  // 4 x 40 000 extra pages > 20 % of 262 144: stop, though still shrinking.
  assert.equal(downtimePolicy().decide(stats(slow)), "stop-and-copy");
  assert.match(downtimePolicy().explain!(stats(slow)), /budget/);
  const many = [pass(0, 262144, 10000)];
  for (let i = 1; i <= 3; i++) many.push(pass(i, 100, 9000 - i * 2000));
  assert.equal(downtimePolicy({ maxIterations: 3 }).decide(stats(many)), "stop-and-copy");
});

Deno.test("user policy: validated decisions; policyByName resolves names", () => {
  const p = userPolicy(() => "maybe" as never);
  assert.throws(() => p.decide(stats([pass(0, 1, 1)])), /returned "maybe"/);
  assert.equal(policyByName("xen"), xenPolicy);
  assert.equal(policyByName("downtime:100").name, "downtime");
  assert.throws(() => policyByName("fast"), /unknown policy 'fast'/);
});
