/**
 * Log-dirty semantics on the simulator: CLEAN reports and clears, PEEK
 * reports, stats count, and under concurrent guest writers every page
 * whose stamp changed between two CLEANs is reported — checked against the
 * generation each write leaves in the page.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { PROT_READ } from "../../lib/xen/constants.ts";
import { bitmapBytes } from "../../lib/xen/log_dirty.ts";
import { checkPageStamp, pageGeneration } from "../../lib/xen/page_stamp.ts";
import { bitmapPfns, openSim, ramPfns, sleep, waitFor } from "./_helpers.ts";

Deno.test("log-dirty: CLEAN reports exactly the written pages and clears; PEEK does not clear", () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,rate=0");
  try {
    const dom = s.hv.domain(domid);
    const pages = dom.maxGpfn() + 1;
    const bitmap = new Uint8Array(bitmapBytes(pages));
    dom.logDirty.enable();
    deepStrictEqual(dom.logDirty.clean(bitmap, pages).dirtyCount, 0);
    deepStrictEqual(bitmapPfns(bitmap, pages).size, 0);

    const written = [5, 100, 0x100, 0x3fff, 0x405f]; // 0x405f: last RAM page of 64 MiB
    s.sim.writePages(domid, written);
    s.sim.writePages(domid, [5, 5]); // rewrites: faults, but not new dirty pages

    const peek1 = dom.logDirty.peek(bitmap, pages);
    deepStrictEqual([...bitmapPfns(bitmap, pages)].sort((a, b) => a - b), written);
    deepStrictEqual(peek1, { dirtyCount: 5, faultCount: 7, pages });
    dom.logDirty.peek(bitmap, pages);
    deepStrictEqual(bitmapPfns(bitmap, pages).size, 5, "PEEK must not clear");

    // A CLEAN of the first 64 pages reports and clears only those.
    const partial = new Uint8Array(bitmapBytes(64));
    dom.logDirty.clean(partial, 64);
    deepStrictEqual([...bitmapPfns(partial, 64)], [5]);

    const clean = dom.logDirty.clean(bitmap, pages);
    deepStrictEqual([...bitmapPfns(bitmap, pages)].sort((a, b) => a - b), written.slice(1));
    deepStrictEqual(clean.pages, pages);

    const after = dom.logDirty.clean(bitmap, pages);
    deepStrictEqual(bitmapPfns(bitmap, pages).size, 0, "second CLEAN must be empty");
    deepStrictEqual([after.dirtyCount, after.faultCount], [0, 0]);

    // Xen clips the count to the p2m size and reports what it processed.
    const big = new Uint8Array(bitmapBytes(pages + 4096)).fill(0xff);
    strictEqual(dom.logDirty.clean(big, pages + 4096).pages, pages);
    ok(big.subarray(bitmapBytes(pages)).every((b) => b === 0), "bytes past the p2m are zeroed");
    dom.logDirty.off();
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("log-dirty: under concurrent writers every page written between two CLEANs is reported", async () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,vcpus=4,rate=200000,pattern=uniform");
  try {
    const dom = s.hv.domain(domid);
    const pages = dom.maxGpfn() + 1;
    const ram = ramPfns(s.sim.stats(domid).ramPages);
    using m = s.hv.foreignMemory.map(domid, ram, PROT_READ);
    strictEqual(m.failed, 0);
    const views = ram.map((_, i) => m.page(i));
    const gens = () => Float64Array.from(views, pageGeneration);

    await waitFor(() => s.sim.stats(domid).writes > 1000, "the guest to start writing");
    dom.logDirty.enable();
    const bitmap = new Uint8Array(bitmapBytes(pages));
    dom.logDirty.clean(bitmap, pages);
    const reads: Float64Array[] = [gens()];
    const reported: Set<number>[] = [];
    const rounds = 25;
    for (let k = 1; k <= rounds; k++) {
      await sleep(10);
      dom.logDirty.clean(bitmap, pages);
      reported.push(bitmapPfns(bitmap, pages));
      reads.push(gens());
    }
    dom.pause();
    dom.logDirty.clean(bitmap, pages);
    reported.push(bitmapPfns(bitmap, pages));
    reads.push(gens());

    // A page whose stamp changed between the reads after CLEAN k-1 and CLEAN k
    // was written after CLEAN k-1, so CLEAN k or (write straddling it) k+1 has it.
    let changed = 0;
    for (let k = 1; k < reads.length; k++) {
      const lastRound = k === reads.length - 1;
      for (let i = 0; i < ram.length; i++) {
        if (reads[k][i] === reads[k - 1][i]) continue;
        changed++;
        const pfn = ram[i];
        const seen = reported[k - 1].has(pfn) || (!lastRound && reported[k].has(pfn));
        ok(seen, `pfn ${pfn} changed before CLEAN ${k} but was not reported`);
      }
    }
    // After pause + final CLEAN the last read is exact: nothing can straddle.
    ok(changed > 1000, `only ${changed} page changes observed: the test exercised nothing`);
    // Reported pages are guest RAM, never holes or special pages.
    const ramSet = new Set(ram);
    for (const set of reported) {
      for (const pfn of set) ok(ramSet.has(pfn), `hole pfn ${pfn} reported`);
    }
    // Paused: every page is whole, by the TS check and the simulator's own.
    for (let i = 0; i < ram.length; i++) {
      const c = checkPageStamp(views[i], ram[i]);
      ok(c.status !== "corrupt", `pfn ${ram[i]}: ${JSON.stringify(c)}`);
    }
    deepStrictEqual(s.sim.verifyDomain(domid), { bad: 0 });
    dom.logDirty.off();
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("log-dirty: no write is lost: the union of all rounds covers every page written", async () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,vcpus=2,rate=100000,pattern=hot:5%");
  try {
    const dom = s.hv.domain(domid);
    const pages = dom.maxGpfn() + 1;
    const bitmap = new Uint8Array(bitmapBytes(pages));
    dom.pause();
    dom.logDirty.enable();
    dom.logDirty.clean(bitmap, pages);
    const before = s.sim.stats(domid).generation;
    dom.unpause();
    const union = new Set<number>();
    for (let k = 0; k < 20; k++) {
      await sleep(5);
      for (const p of bitmapPfns(bitmap, dom.logDirty.clean(bitmap, pages).pages)) union.add(p);
    }
    dom.pause();
    for (const p of bitmapPfns(bitmap, dom.logDirty.clean(bitmap, pages).pages)) union.add(p);
    // Every page whose generation is newer than the first CLEAN must be in the union.
    const written = ramPfns(s.sim.stats(domid).ramPages).filter((p) =>
      s.sim.pageGeneration(domid, p) > before
    );
    ok(written.length > 100, `only ${written.length} pages written`);
    for (const p of written) ok(union.has(p), `pfn ${p} written but never reported`);
    // hot:5%: faults (writes) far outnumber distinct dirty pages.
    const st = s.sim.stats(domid);
    ok(st.writes > written.length * 2, `hot set: ${st.writes} writes over ${written.length} pages`);
    dom.logDirty.off();
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("log-dirty: hypercall buffers are freed (10 000 CLEANs, varying sizes, no leak)", () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,rate=0");
  try {
    const dom = s.hv.domain(domid);
    const pages = dom.maxGpfn() + 1;
    const bitmap = new Uint8Array(bitmapBytes(pages));
    const base = s.sim.globalStats();
    dom.logDirty.enable();
    const rss0 = Deno.memoryUsage().rss;
    let reallocs = 0, last = -1;
    for (let i = 0; i < 10_000; i++) {
      // Every 100th call asks for a smaller bitmap, forcing free + realloc.
      const n = i % 100 === 99 ? 4096 * 8 * 3 : pages;
      if (n !== last) reallocs++;
      last = n;
      dom.logDirty.clean(bitmap, n);
      if (i % 1000 === 0) {
        strictEqual(s.sim.globalStats().hypercallBuffersLive - base.hypercallBuffersLive, 1);
      }
    }
    const rss1 = Deno.memoryUsage().rss;
    const mid = s.sim.globalStats();
    strictEqual(
      mid.hypercallBuffersLive - base.hypercallBuffersLive,
      1,
      "one live buffer while enabled",
    );
    strictEqual(
      mid.hypercallBuffersTotal - base.hypercallBuffersTotal,
      reallocs,
      "one allocation per size change",
    );
    strictEqual(
      mid.hypercallBufferBadFrees,
      base.hypercallBufferBadFrees,
      "every free matched an allocation",
    );
    // 10 000 leaked 32-page buffers would be 1.25 GiB; allow 64 MiB of noise.
    ok(rss1 - rss0 < 64 * 2 ** 20, `RSS grew by ${(rss1 - rss0) / 2 ** 20} MiB`);
    dom.logDirty.off();
    strictEqual(
      s.sim.globalStats().hypercallBuffersLive,
      base.hypercallBuffersLive,
      "off() frees the buffer",
    );
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("log-dirty: closing the hypervisor frees buffers it still holds", () => {
  const s = openSim();
  const domid = s.sim.createDomain("mem=64M,rate=0");
  const before = s.sim.globalStats().hypercallBuffersLive;
  const dom = s.hv.domain(domid);
  dom.logDirty.enable();
  dom.logDirty.clean(new Uint8Array(bitmapBytes(1024)), 1024);
  strictEqual(s.sim.globalStats().hypercallBuffersLive, before + 1);
  s.hv.close();
  strictEqual(s.sim.globalStats().hypercallBuffersLive, before);
  s.sim.destroyDomain(domid);
  s.sim.close();
});
