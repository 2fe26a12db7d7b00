/** Pause truly stops the simulated guest's writers; several domains run independently. */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { PROT_READ } from "../../lib/xen/constants.ts";
import { XenError } from "../../lib/xen/errors.ts";
import { bitmapBytes } from "../../lib/xen/log_dirty.ts";
import { bitmapPfns, openSim, ramPfns, sleep, waitFor } from "./_helpers.ts";

async function digest(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
    (b) => b.toString(16),
  ).join("");
}

Deno.test("pause: returns only once writers are quiescent; nothing changes while paused", async () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,vcpus=4,rate=500000,pattern=scan");
  try {
    const dom = s.hv.domain(domid);
    await waitFor(() => s.sim.stats(domid).writes > 10_000, "writes");
    dom.logDirty.enable();
    dom.pause();
    const st = s.sim.stats(domid);
    strictEqual(st.parkedWriters, st.writers, "every writer parked when pause() returns");
    ok(st.writers === 4, `${st.writers} writers`);
    ok(dom.info().paused && !dom.info().running);
    // Nothing in flight: a CLEAN now, then nothing more may be dirtied.
    const pages = dom.maxGpfn() + 1;
    const bitmap = new Uint8Array(bitmapBytes(pages));
    dom.logDirty.clean(bitmap, pages);
    const ram = ramPfns(st.ramPages);
    using m = s.hv.foreignMemory.map(domid, ram, PROT_READ);
    const whole = new Uint8Array(ram.length * 4096);
    for (let i = 0; i < ram.length; i++) whole.set(m.page(i), i * 4096);
    const before = await digest(whole);
    await sleep(100);
    for (let i = 0; i < ram.length; i++) whole.set(m.page(i), i * 4096);
    strictEqual(await digest(whole), before, "guest memory changed while paused");
    deepStrictEqual(s.sim.stats(domid).writes, st.writes);
    dom.logDirty.peek(bitmap, pages);
    strictEqual(bitmapPfns(bitmap, pages).size, 0, "pages dirtied while paused");
    deepStrictEqual(s.sim.verifyDomain(domid), { bad: 0 });

    // Pause nests like Xen's controller pause; the guest resumes at zero.
    dom.pause();
    dom.unpause();
    await sleep(20);
    strictEqual(s.sim.stats(domid).writes, st.writes, "still paused after one of two unpauses");
    dom.unpause();
    await waitFor(() => s.sim.stats(domid).writes > st.writes, "writes after unpause");
    throws(() => dom.unpause(), (e: unknown) => e instanceof XenError && e.code === "EINVAL");
    dom.logDirty.off();
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("several domains at once: independent memory, pause, log-dirty and workloads", async () => {
  using s = openSim();
  const specs = [
    "mem=64M,vcpus=2,rate=50000,pattern=scan",
    "mem=128M,vcpus=1,rate=50000,pattern=hot:5%",
    "mem=96M,vcpus=2,rate=50000,pattern=bursty:5/5",
  ];
  const ids = specs.map((spec) => s.sim.createDomain(spec));
  try {
    strictEqual(new Set(ids).size, 3);
    const listed = s.hv.domains().map((d) => d.domid);
    for (const id of ids) ok(listed.includes(id), `domain ${id} listed`);
    const doms = ids.map((id) => s.hv.domain(id));
    deepStrictEqual(doms.map((d) => d.info().totPages), [16384 + 8, 32768 + 8, 24576 + 8]);
    for (const d of doms) d.logDirty.enable();
    await waitFor(() => ids.every((id) => s.sim.stats(id).writes > 2000), "all three writing");

    // Pausing one leaves the others running.
    doms[0].pause();
    const frozen = s.sim.stats(ids[0]).writes;
    const others = ids.slice(1).map((id) => s.sim.stats(id).writes);
    await waitFor(
      () => ids.slice(1).every((id, i) => s.sim.stats(id).writes > others[i] + 1000),
      "others",
    );
    strictEqual(s.sim.stats(ids[0]).writes, frozen);

    for (const d of doms.slice(1)) d.pause();
    for (const [i, d] of doms.entries()) {
      const pages = d.maxGpfn() + 1;
      const bitmap = new Uint8Array(bitmapBytes(pages));
      d.logDirty.clean(bitmap, pages);
      const ram = new Set(ramPfns(s.sim.stats(ids[i]).ramPages));
      const dirty = bitmapPfns(bitmap, pages);
      ok(dirty.size > 0, `domain ${ids[i]} dirtied nothing`);
      for (const p of dirty) ok(ram.has(p), `domain ${ids[i]} reported non-RAM pfn ${p}`);
      deepStrictEqual(s.sim.verifyDomain(ids[i]), { bad: 0 });
      d.logDirty.off();
    }
    // scan writes RAM in order: its first pages are all stamped.
    using m = s.hv.foreignMemory.map(ids[0], [0, 1, 2, 3], PROT_READ);
    for (let i = 0; i < 4; i++) ok(s.sim.verifyPage(m.page(i), i) === "stamped", `scan page ${i}`);
  } finally {
    for (const id of ids) s.sim.destroyDomain(id);
  }
});
