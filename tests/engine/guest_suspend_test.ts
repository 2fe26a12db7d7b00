/**
 * Suspending a guest for the final pass: the xenstore request as libxl
 * makes it, its timeouts and interruptions, and the pause fallback.
 */

import { equal, ok, rejects } from "node:assert/strict";
import { GuestSuspender, SuspendError } from "../../lib/engine/guest_suspend.ts";
import { SHUTDOWN_suspend } from "../../lib/xen/constants.ts";
import { simSession } from "./_support.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function writesGrow(s: Awaited<ReturnType<typeof simSession>>): Promise<boolean> {
  const before = s.sim.stats(s.domid).writes;
  await sleep(60);
  return s.sim.stats(s.domid).writes > before;
}

Deno.test("xenstore suspend: acknowledged, shut down for suspend, frozen; resume runs it again", async () => {
  using s = await simSession("mem=64M,rate=20000");
  const dom = s.hv.domain(s.domid);
  s.sim.setGuestAgent(s.domid, true, 20);
  const g = new GuestSuspender(s.hv, dom);
  await g.suspend();
  equal(g.method, "xenstore");
  ok(g.suspended);
  const info = dom.info();
  ok(info.shutdown && info.shutdownCode === SHUTDOWN_suspend, "shut down with reason suspend");
  equal(s.hv.xenstore.read(`/local/domain/${s.domid}/control/shutdown`), "", "acknowledged");
  equal(await writesGrow(s), false, "no guest writes while suspended");
  g.resume();
  equal(dom.info().shutdown, false);
  equal(await writesGrow(s), true, "the guest writes again");
  g.resume(); // idempotent
});

Deno.test("a guest that never acknowledges: SuspendError, request withdrawn, guest running", async () => {
  using s = await simSession("mem=64M,rate=20000");
  s.sim.setGuestAgent(s.domid, false);
  const g = new GuestSuspender(s.hv, s.hv.domain(s.domid), { ackTimeoutMs: 150 });
  await rejects(g.suspend(), (e) => {
    ok(e instanceof SuspendError);
    ok(/did not acknowledge the suspend request within 150 ms/.test(e.message), e.message);
    return true;
  });
  equal(s.hv.xenstore.read(`/local/domain/${s.domid}/control/shutdown`), "");
  equal(s.hv.domain(s.domid).info().shutdown, false);
  equal(await writesGrow(s), true);
});

Deno.test("resume while the guest has not yet answered withdraws the request", async () => {
  using s = await simSession("mem=64M,rate=20000");
  s.sim.setGuestAgent(s.domid, true, 300);
  const g = new GuestSuspender(s.hv, s.hv.domain(s.domid));
  const suspending = g.suspend();
  await sleep(50);
  g.resume();
  await suspending;
  equal(g.suspended, false);
  await sleep(400); // past the agent's answer: it finds the request gone
  equal(s.hv.domain(s.domid).info().shutdown, false);
  equal(await writesGrow(s), true);
});

Deno.test("auto: a paused guest, or one without control/shutdown, is paused instead", async () => {
  using s = await simSession("mem=64M");
  const dom = s.hv.domain(s.domid);
  dom.pause();
  const a = new GuestSuspender(s.hv, dom);
  await a.suspend();
  equal(a.method, "pause");
  a.resume();
  ok(dom.info().paused, "paused before: still paused (counted pauses)");
  dom.unpause();
  s.hv.xenstore.rm(`/local/domain/${s.domid}/control`);
  const b = new GuestSuspender(s.hv, dom);
  await b.suspend();
  equal(b.method, "pause");
  ok(dom.info().paused && !dom.info().shutdown);
  b.resume();
  equal(dom.info().paused, false);
});

Deno.test("the suspend waits on xenstore watches: a slow guest costs a few wake-ups, not a poll loop", async () => {
  using s = await simSession("mem=64M,rate=20000");
  const dom = s.hv.domain(s.domid);
  s.sim.setGuestAgent(s.domid, true, 300); // acknowledges after 300 ms
  let looks = 0;
  const state = dom.state.bind(dom);
  dom.state = () => (looks++, state());
  const g = new GuestSuspender(s.hv, dom);
  const t0 = performance.now();
  await g.suspend();
  const ms = performance.now() - t0;
  ok(g.suspended && ms >= 250, `suspended after ${ms.toFixed(0)} ms`);
  // Back-off polling (8 ms at most) would have looked ~40 times in 300 ms;
  // watches wake on the registration event, the acknowledgement, the
  // shutdown and at most one 100 ms slice each.
  ok(looks <= 10, `the domain's state was read ${looks} times`);
  g.resume();
});
