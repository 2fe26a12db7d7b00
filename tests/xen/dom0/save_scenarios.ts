/**
 * Scenario groups b and c, and the save half of f: xenmig reading what
 * `xl save` writes (verify, restore), `xl restore` reading what
 * `xenmig save` writes, and both saves timed on the same guest.
 *
 * Save files go to dom0's tmpfs (`/tmp`), are copied to the share for the
 * host to verify with xenmig, and are deleted afterwards.
 *
 * @module
 */

import type {
  XenmigRestoreFacts,
  XenmigSaveFacts,
  XenmigSaveTimedFacts,
  XlSaveVerifyFacts,
} from "../common/observations.ts";
import { xlList } from "./guests.ts";
import {
  destroyDomains,
  domidOfGuest,
  exportFile,
  fileSize,
  guestOutcome,
  newDomains,
  record,
  type ScenarioContext,
  useGuest,
} from "./scenario_kit.ts";
import { sh } from "./shell.ts";
import { xenmig } from "./xenmig.ts";

function guestType(params: Record<string, unknown>): "pv" | "pvh" {
  return params.type === "pv" ? "pv" : "pvh";
}

/**
 * `xl save` of a guest, exported for the host's `xenmig verify`; then,
 * with `params.restore`, `xl restore` to keep the guest for later scenarios.
 */
export async function xlSaveVerify(
  ctx: ScenarioContext,
  params: Record<string, unknown>,
): Promise<XlSaveVerifyFacts> {
  const type = guestType(params);
  const g = await useGuest(ctx, type);
  const file = `/tmp/xl-${g.name}.save`;
  try {
    const mark = ctx.pool.mark(g);
    const save = await sh(`xl save ${g.name} ${file}`, ctx.log, { timeoutSeconds: 300 });
    const bytes = fileSize(file);
    if (save.rc !== 0 || bytes === 0) throw new Error(`xl save failed (rc=${save.rc})`);
    const exported = await exportFile(ctx, file);
    if (params.restore !== true) return { type, save: record(save), bytes, exported };
    const restore = await sh(`xl restore ${file}`, ctx.log, { timeoutSeconds: 300 });
    const guest = await guestOutcome(ctx, g, mark);
    ctx.pool.release(g);
    return { type, save: record(save), bytes, exported, restore: record(restore), guest };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** `xl save` of a PVH guest → `xenmig restore` (which runs the domain). */
export async function xenmigRestore(ctx: ScenarioContext): Promise<XenmigRestoreFacts> {
  const g = await useGuest(ctx, "pvh");
  const file = `/tmp/xl-${g.name}.save`;
  let appeared: Awaited<ReturnType<typeof xlList>> = [];
  try {
    const mark = ctx.pool.mark(g);
    const save = await sh(`xl save ${g.name} ${file}`, ctx.log, { timeoutSeconds: 300 });
    if (save.rc !== 0) throw new Error(`xl save failed (rc=${save.rc})`);
    const before = await xlList(ctx.log);
    const restore = await xenmig(`restore ${file}`, ctx.log, 300);
    appeared = newDomains(before, await xlList(ctx.log));
    const guest = await guestOutcome(ctx, g, mark, 90, appeared.map((d) => d.domid));
    return { save: record(save), restore: record(restore), newDomains: appeared, guest };
  } finally {
    await Deno.remove(file).catch(() => {});
    // The restored domain's name is xenmig's business: do not reuse it.
    await destroyDomains(ctx, appeared);
  }
}

/** `xenmig save [--live]` of a running PVH guest → `xl restore`. */
export async function xenmigSave(
  ctx: ScenarioContext,
  params: Record<string, unknown>,
): Promise<XenmigSaveFacts> {
  const live = params.live === true;
  const g = await useGuest(ctx, "pvh");
  const domid = await domidOfGuest(ctx, g);
  const file = `/tmp/xenmig-${g.name}.save`;
  try {
    const mark = ctx.pool.mark(g);
    const save = await xenmig(`save ${domid} ${file}${live ? " --live" : ""}`, ctx.log, 600);
    const bytes = fileSize(file);
    const source = (await xlList(ctx.log)).find((d) => d.domid === domid);
    if (save.rc !== 0 || bytes === 0) {
      throw new Error(`xenmig save failed (rc=${save.rc}): ${save.err.trim().split("\n").pop()}`);
    }
    const exported = await exportFile(ctx, file);
    // A suspended source would clash with the restored domain's name.
    if (source) await sh(`xl destroy ${domid}`, ctx.log, { timeoutSeconds: 60 });
    const restore = await sh(`xl restore ${file}`, ctx.log, { timeoutSeconds: 300 });
    const guest = await guestOutcome(ctx, g, mark);
    ctx.pool.release(g);
    return {
      live,
      save: record(save),
      bytes,
      sourceStateAfterSave: source?.state ?? "",
      exported,
      restore: record(restore),
      guest,
    };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/**
 * `xenmig save` timed like the baseline's `xl save` (same guest type, size
 * and workload).  Only the measurement: c1 judges what restores from it.
 */
export async function xenmigSaveTimed(ctx: ScenarioContext): Promise<XenmigSaveTimedFacts> {
  const g = await useGuest(ctx, "pvh");
  const domid = await domidOfGuest(ctx, g);
  const file = `/tmp/timed-${g.name}.save`;
  try {
    const save = await xenmig(`save ${domid} ${file}`, ctx.log, 300);
    return { save: record(save), saveBytes: fileSize(file) };
  } finally {
    await Deno.remove(file).catch(() => {});
    await ctx.pool.destroy(g, ctx.log);
  }
}
