/**
 * Scenario group a: xenmig's Deno FFI bindings on the real
 * libxenctrl.so.4.17 — listing domains, domain info, pause/unpause, and
 * log-dirty on PVH (works) and PV (EOPNOTSUPP on Debian's Xen, which is
 * built without shadow paging).
 *
 * @module
 */

import type {
  FfiListFacts,
  FfiLogDirtyFacts,
  FfiLogDirtyPvFacts,
  FfiPauseFacts,
  PvLiveSaveFacts,
} from "../common/observations.ts";
import { GUEST_SHAPE, xlList } from "./guests.ts";
import {
  domidOfGuest,
  guestOutcome,
  libraryRow,
  record,
  type ScenarioContext,
  useGuest,
  useGuests,
} from "./scenario_kit.ts";
import { sleep, waitFor } from "./shell.ts";
import { describeError, loadXenBindings, type XenHypervisor } from "./xen_library.ts";
import { NotImplementedError, xenmig } from "./xenmig.ts";
import type { NotImplementedFacts } from "../common/observations.ts";
import { parseXlList } from "../common/xl_list.ts";

/** Runs a CLI part of a scenario; a missing command becomes a fact, not a failure. */
async function cliPart<T>(run: () => Promise<T>): Promise<T | NotImplementedFacts> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof NotImplementedError) return { notImplemented: e.command };
    throw e;
  }
}

async function xlState(ctx: ScenarioContext, domid: number): Promise<string> {
  return (await xlList(ctx.log)).find((d) => d.domid === domid)?.state ?? "";
}

async function openXen(ctx: ScenarioContext): Promise<XenHypervisor> {
  const xen = await loadXenBindings(ctx.projectRoot);
  if (typeof xen === "string") throw new Error(xen);
  const hv = xen.Hypervisor.open({ backend: "xen" });
  ctx.log.line('Hypervisor.open({ backend: "xen" }) ok');
  return hv;
}

/** Lists domains with xl and with the bindings, back to back, with PV and PVH guests up. */
export async function ffiList(ctx: ScenarioContext): Promise<FfiListFacts> {
  const [pv, pvh] = await useGuests(ctx, ["pv", "pvh"]);
  const hv = await openXen(ctx);
  try {
    const xlBefore = await xlList(ctx.log);
    const library = hv.domains().map(libraryRow);
    const xlAfter = await xlList(ctx.log);
    ctx.log.block("library", library.map((d) => JSON.stringify(d)).join("\n"));
    const cli = await cliPart(async () => {
      const before = await xlList(ctx.log);
      const list = await xenmig("xen list", ctx.log, 180);
      const after = await xlList(ctx.log);
      return { list: record(list), rows: parseXlList(list.out), xlBefore: before, xlAfter: after };
    });
    return { xlBefore, library, xlAfter, cli };
  } finally {
    hv.close();
    ctx.pool.release(pv);
    ctx.pool.release(pvh);
  }
}

/** Reads a PVH guest's info, pauses it for ~2 s, unpauses it. */
export async function ffiInfoPause(ctx: ScenarioContext): Promise<FfiPauseFacts> {
  const g = await useGuest(ctx, "pvh");
  const domid = await domidOfGuest(ctx, g);
  const hv = await openXen(ctx);
  const dom = hv.domain(domid);
  try {
    const before = dom.info();
    const infoBefore = { ...libraryRow(before), hvm: before.hvm, maxPages: before.maxPages };
    const mark = ctx.pool.mark(g);
    const t0 = performance.now();
    dom.pause();
    let infoPaused, xlStateWhilePaused, heartbeatsWhilePaused;
    try {
      infoPaused = libraryRow(dom.info());
      xlStateWhilePaused = (await xlList(ctx.log)).find((d) => d.domid === domid)?.state ?? "";
      await sleep(500);
      const seqA = ctx.pool.mark(g).seq;
      await sleep(1000);
      heartbeatsWhilePaused = ctx.pool.mark(g).seq - seqA;
      await sleep(500);
    } finally {
      dom.unpause();
    }
    const pauseSeconds = (performance.now() - t0) / 1000;
    const infoAfter = libraryRow(dom.info());
    ctx.log.line(
      `paused ${pauseSeconds.toFixed(2)} s, heartbeats while paused: ${heartbeatsWhilePaused}`,
    );
    // Also read the guest's mailbox page: a check of the lab's own channel
    // to guests without a console.
    const guest = await guestOutcome(ctx, g, mark, 60, [domid]);
    const cli = await cliPart(async () => {
      const cliMark = ctx.pool.mark(g);
      try {
        const pause = await xenmig(`xen pause ${domid}`, ctx.log, 180);
        const xlStateWhilePaused = await xlState(ctx, domid);
        const info = await xenmig(`xen info ${domid} --json`, ctx.log, 180);
        const unpause = await xenmig(`xen unpause ${domid}`, ctx.log, 180);
        const xlStateAfter = await xlState(ctx, domid);
        const guest = await guestOutcome(ctx, g, cliMark);
        return {
          pause: record(pause),
          xlStateWhilePaused,
          info: record(info),
          unpause: record(unpause),
          xlStateAfter,
          guest,
        };
      } finally {
        // Never leave the guest paused, whatever the CLI did.
        if (dom.info().paused) {
          ctx.log.line("the guest is still paused after the CLI part: unpausing it");
          dom.unpause();
        }
      }
    });
    ctx.pool.release(g);
    return {
      domid,
      memoryMiB: GUEST_SHAPE.memoryMiB,
      infoBefore,
      infoPaused,
      xlStateWhilePaused,
      heartbeatsWhilePaused,
      pauseSeconds,
      infoAfter,
      guest,
      cli,
    };
  } finally {
    hv.close();
  }
}

function bitSet(bitmap: Uint8Array, pfn: number): boolean {
  return pfn >> 3 < bitmap.length && (bitmap[pfn >> 3] & (1 << (pfn & 7))) !== 0;
}

function countBits(bitmap: Uint8Array): number {
  let n = 0;
  for (let b of bitmap) {
    for (; b; b &= b - 1) n++;
  }
  return n;
}

/** Log-dirty on a running PVH guest: enable, CLEAN twice, off. */
export async function ffiLogDirtyPvh(ctx: ScenarioContext): Promise<FfiLogDirtyFacts> {
  const g = await useGuest(ctx, "pvh");
  const domid = await domidOfGuest(ctx, g);
  const xen = await loadXenBindings(ctx.projectRoot);
  if (typeof xen === "string") throw new Error(xen);
  const hv = xen.Hypervisor.open({ backend: "xen" });
  const dom = hv.domain(domid);
  const workload = ctx.pool.consoles.log(g.id)!;
  const pages = dom.maxGpfn() + 1;
  const bitmap = new Uint8Array(xen.bitmapBytes(pages));
  const zero = { dirtyCount: 0, faultCount: 0 };
  let firstClean = zero, clean = zero, roundSeconds = 0, error, offError;
  const mark = ctx.pool.mark(g);
  try {
    try {
      dom.logDirty.enable();
      ctx.log.line(`log-dirty enabled on domid ${domid} (${pages} pages)`);
      firstClean = dom.logDirty.clean(bitmap, pages);
      const t0 = performance.now();
      // Two whole workload passes rewrite every page of its dirty region.
      const pass0 = ctx.pool.mark(g).pass;
      await waitFor(() => (ctx.pool.mark(g).pass >= pass0 + 3 ? true : undefined), 30, 100);
      clean = dom.logDirty.clean(bitmap, pages);
      roundSeconds = (performance.now() - t0) / 1000;
      ctx.log.line(`CLEAN: first ${JSON.stringify(firstClean)}, second ${JSON.stringify(clean)}`);
    } catch (e) {
      error = describeError(e);
      ctx.log.line(`log-dirty failed: ${error.message}`);
    } finally {
      try {
        dom.logDirty.off();
        ctx.log.line("log-dirty off");
      } catch (e) {
        offError = describeError(e);
      }
    }
    const pausedAfter = dom.info().paused;
    const guest = await guestOutcome(ctx, g, mark);
    const cli = await cliPart(async () => {
      const logdirty = await xenmig(
        `xen logdirty ${domid} --rounds 5 --interval 1000 --json`,
        ctx.log,
        180,
      );
      return { logdirty: record(logdirty), xlStateAfter: await xlState(ctx, domid) };
    });
    ctx.pool.release(g);
    const sample = (pfns: number[]) => ({
      pfns,
      set: pfns.filter((p) => bitSet(bitmap, p)).length,
    });
    return {
      domid,
      pages,
      workloadDirtyPages: GUEST_SHAPE.dirtyMiB * 256,
      roundSeconds,
      firstClean,
      clean,
      bitsSet: countBits(bitmap),
      dirtySamples: sample(workload.dirtyPfns),
      staticSamples: sample(workload.staticPfns),
      error,
      offError,
      pausedAfter,
      guest,
      cli,
    };
  } finally {
    hv.close();
  }
}

/** Log-dirty on a PV guest: must fail with EOPNOTSUPP and leave the guest running. */
export async function ffiLogDirtyPv(ctx: ScenarioContext): Promise<FfiLogDirtyPvFacts> {
  const g = await useGuest(ctx, "pv");
  const domid = await domidOfGuest(ctx, g);
  const hv = await openXen(ctx);
  const dom = hv.domain(domid);
  try {
    const mark = ctx.pool.mark(g);
    let enableError;
    try {
      dom.logDirty.enable();
      ctx.log.line("log-dirty enable on a PV guest succeeded (unexpected); turning it off");
      dom.logDirty.off();
    } catch (e) {
      enableError = describeError(e);
      ctx.log.line(`log-dirty enable: ${enableError.message}`);
    }
    const pausedAfter = dom.info().paused;
    const stateAfter = await xlState(ctx, domid);
    const cli = await cliPart(async () => {
      const logdirty = await xenmig(`xen logdirty ${domid} --rounds 1`, ctx.log, 180);
      return { logdirty: record(logdirty), xlStateAfter: await xlState(ctx, domid) };
    });
    const guest = await guestOutcome(ctx, g, mark);
    ctx.pool.release(g);
    return { domid, enableError, pausedAfter, xlState: stateAfter, guest, cli };
  } finally {
    hv.close();
  }
}

/** `xenmig save --live` of a PV guest: must fail clearly and leave the guest running. */
export async function pvLiveSave(ctx: ScenarioContext): Promise<PvLiveSaveFacts> {
  const g = await useGuest(ctx, "pv");
  const domid = await domidOfGuest(ctx, g);
  const mark = ctx.pool.mark(g);
  const file = "/tmp/pv-live.save";
  try {
    const save = await xenmig(`save ${domid} ${file} --live`, ctx.log, 120);
    const row = (await xlList(ctx.log)).find((d) => d.domid === domid);
    const guest = await guestOutcome(ctx, g, mark, 30);
    ctx.pool.release(g);
    return { save: record(save), domainExists: !!row, xlState: row?.state ?? "", guest };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}
