/**
 * The save's walk of the physmap: it finds every page the domain owns,
 * asks about each pfn at most once, skips the hole only when Xen's page
 * count proves it empty, and walks everything whenever that proof fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ownedPageCount, P2mWalk } from "../../lib/engine/p2m_walk.ts";
import { SaveSession } from "../../lib/engine/save_session.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { pageTypeHasData, REC_TYPE } from "../../lib/libxc/constants.ts";
import { decodePageData } from "../../lib/libxc/page_data.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import type { Domain } from "../../lib/xen/domain.ts";
import { openHypervisor } from "../../lib/xen/open.ts";
import type { DomainInfo, PodTarget } from "../../lib/xen/types.ts";

/** Runs `walk` over a physmap whose populated pfns are `pages`; returns the pfns asked about. */
function run(walk: P2mWalk, pages: Set<number>): number[] {
  const asked: number[] = [];
  for (let w; (w = walk.next());) {
    assert.ok(w.count >= 1 && w.count <= 1024, `window of ${w.count}`);
    let found = 0;
    for (let pfn = w.first; pfn < w.first + w.count; pfn++) {
      asked.push(pfn);
      if (pages.has(pfn)) found++;
    }
    walk.found(found);
  }
  return asked;
}

/** A 128 MiB PVH guest as Xen lays it out: RAM, ACPI tables near 4 GiB, special pages. */
function pvhLayout(): { p2m: number; pages: Set<number> } {
  const pages = new Set<number>();
  for (let p = 0; p < 0x8000; p++) if (p < 0xa0 || p >= 0x100) pages.add(p);
  for (let p = 0xfc000; p < 0xfc008; p++) pages.add(p);
  for (let p = 0xfeff0; p < 0xff000; p++) pages.add(p);
  return { p2m: 0xff000, pages };
}

function assertOnce(asked: number[], p2m: number, whole: boolean): void {
  assert.equal(new Set(asked).size, asked.length, "a pfn asked about twice");
  for (const pfn of asked) assert.ok(pfn >= 0 && pfn < p2m, `pfn ${pfn} outside the physmap`);
  if (whole) assert.equal(asked.length, p2m, "not the whole physmap");
}

Deno.test("P2mWalk: with the page count it finds every page of a PVH layout and skips the hole", () => {
  const { p2m, pages } = pvhLayout();
  const walk = new P2mWalk(p2m, pages.size);
  const asked = run(walk, pages);
  assertOnce(asked, p2m, false);
  const seen = new Set(asked);
  for (const p of pages) assert.ok(seen.has(p), `page 0x${p.toString(16)} never asked about`);
  assert.ok(walk.complete);
  assert.equal(walk.pages, pages.size);
  // 32 windows of RAM and an empty one, 12 from the top down to the ACPI
  // tables, and an empty window at the bottom for each turn on the way:
  // 55 of the 1020 a full walk takes.
  assert.ok(asked.length <= 55 * 1024, `${asked.length} pfns asked about`);
  assert.equal(walk.skipped, p2m - asked.length);
});

Deno.test("P2mWalk: without a count it walks the whole physmap once", () => {
  const { p2m, pages } = pvhLayout();
  const walk = new P2mWalk(p2m);
  assertOnce(run(walk, pages), p2m, true);
  assert.ok(walk.complete);
  assert.equal(walk.skipped, 0);
});

Deno.test("P2mWalk: a count that is never reached (owned pages in no pfn) walks it all", () => {
  const { p2m, pages } = pvhLayout();
  const walk = new P2mWalk(p2m, pages.size + 1);
  assertOnce(run(walk, pages), p2m, true);
  assert.equal(walk.pages, pages.size);
});

Deno.test("P2mWalk: more pages than the count (it cannot be trusted) walks it all", () => {
  const { p2m, pages } = pvhLayout();
  const walk = new P2mWalk(p2m, pages.size - 100);
  assertOnce(run(walk, pages), p2m, true);
});

Deno.test("P2mWalk: walkAll after an early stop goes on into the hole, never back", () => {
  const { p2m, pages } = pvhLayout();
  const walk = new P2mWalk(p2m, pages.size);
  const first = run(walk, pages);
  assert.ok(walk.skipped > 0);
  pages.add(0x80000); // ballooned in, in the middle, while the walk ran
  walk.walkAll();
  assert.ok(!walk.complete);
  const rest = run(walk, pages);
  assertOnce([...first, ...rest], p2m, true);
  assert.equal(walk.pages, pages.size);
});

Deno.test("P2mWalk: odd sizes and empty domains", () => {
  assertOnce(run(new P2mWalk(1), new Set([0])), 1, true);
  assertOnce(run(new P2mWalk(2049, 2), new Set([0, 2048])), 2049, false);
  const none = new P2mWalk(0x100000, 0);
  assert.equal(none.next(), undefined, "a domain with no pages has nothing to walk");
  assert.equal(new P2mWalk(0).next(), undefined);
});

Deno.test("P2mWalk: misuse is refused", () => {
  assert.throws(() => new P2mWalk(-1), /physmap size -1 is not a count of pfns/);
  const walk = new P2mWalk(4096);
  assert.throws(() => walk.found(0), /found\(\) without a window/);
  walk.next();
  assert.throws(() => walk.next(), /found\(\) not called for the last window/);
  assert.throws(() => walk.found(1025), /1025 pages found in a window of 1024 pfns/);
});

/** A Domain that answers only what ownedPageCount asks. */
function fakeDomain(info: Partial<DomainInfo>, pod: Partial<PodTarget> | Error): Domain {
  const base = { hvm: true, totPages: 1000, shrPages: 0, pagedPages: 0 };
  return {
    info: () => ({ ...base, ...info }) as DomainInfo,
    podTarget: () => {
      if (pod instanceof Error) throw pod;
      return { totPages: info.totPages ?? 1000, podCachePages: 0, podEntries: 0, ...pod };
    },
  } as unknown as Domain;
}

Deno.test("ownedPageCount: trusted only without shared, paged-out or populate-on-demand pages", () => {
  assert.equal(ownedPageCount(fakeDomain({}, {})), 1000);
  assert.equal(ownedPageCount(fakeDomain({ hvm: false }, {})), undefined, "PV");
  assert.equal(ownedPageCount(fakeDomain({ shrPages: 3 }, {})), undefined, "shared pages");
  assert.equal(ownedPageCount(fakeDomain({ pagedPages: 1 }, {})), undefined, "paged out");
  assert.equal(ownedPageCount(fakeDomain({}, { podEntries: 5 })), undefined, "PoD entries");
  assert.equal(ownedPageCount(fakeDomain({}, { totPages: 1001 })), undefined, "count moved");
  assert.equal(ownedPageCount(fakeDomain({}, new Error("EINVAL"))), undefined, "no answer");
});

/** pfns sent with data in a libxc stream, and how many times each. */
async function dataPfns(stream: Uint8Array): Promise<Map<number, number>> {
  const sent = new Map<number, number>();
  for await (const ev of new StreamParser(bytesSource(stream)).events()) {
    if (ev.kind !== "record" || ev.layer !== "libxc" || ev.type !== REC_TYPE.PAGE_DATA) continue;
    const pd = decodePageData(ev.body);
    for (let i = 0; i < pd.count; i++) {
      if (pageTypeHasData(pd.types[i])) sent.set(pd.pfns[i], (sent.get(pd.pfns[i]) ?? 0) + 1);
    }
  }
  return sent;
}

Deno.test("save: the first pass sends every page the guest owns, walking a fraction of the physmap", async () => {
  using s = await openHypervisor({ sim: "mem=64M,rate=0" });
  const dom = s.hv.domain(s.domid!);
  const out = memorySink();
  const stats = await new SaveSession(s.hv, s.domid!, out, { live: false, format: "libxc" }).run();
  const sent = await dataPfns(out.bytes());
  assert.equal(sent.size, dom.info().totPages, "pages with data in the stream = tot_pages");
  assert.ok(stats.p2mSize > 0xfe000, `p2m ${stats.p2mSize}`);
  assert.ok(stats.walkedPfns < stats.p2mSize / 10, `walked ${stats.walkedPfns}`);
  const full = new Set<number>();
  const all = new Float64Array(1024);
  for (let first = 0; first < stats.p2mSize; first += 1024) {
    const n = Math.min(1024, stats.p2mSize - first);
    for (let i = 0; i < n; i++) all[i] = first + i;
    const t = dom.pfnTypes(all.subarray(0, n));
    for (let i = 0; i < n; i++) if (pageTypeHasData(t[i] >>> 28)) full.add(first + i);
  }
  assert.deepEqual([...sent.keys()].sort((a, b) => a - b), [...full].sort((a, b) => a - b));
});

Deno.test("save: a page ballooned into the hole during a live first pass is walked and sent", async () => {
  using s = await openHypervisor({ sim: "mem=64M,rate=0" });
  const dom = s.hv.domain(s.domid!);
  const hole = 0x80000;
  let ballooned = false;
  const out = memorySink();
  const stats = await new SaveSession(s.hv, s.domid!, out, {
    live: true,
    format: "libxc",
    onProgress: (p) => {
      if (p.iteration === 0 && !ballooned) {
        ballooned = true;
        dom.populatePhysmap([hole]);
      }
    },
  }).run();
  assert.ok(ballooned);
  assert.equal(stats.walkedPfns, stats.p2mSize, "a moved count means the whole physmap");
  const sent = await dataPfns(out.bytes());
  assert.ok(sent.has(hole), "the ballooned-in page was not sent");
  assert.equal(sent.size, dom.info().totPages);
});
