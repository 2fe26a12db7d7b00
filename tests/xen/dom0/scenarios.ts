/**
 * Every scenario the dom0 agent can run, by the name the host requests.
 *
 * @module
 */

import {
  ffiInfoPause,
  ffiList,
  ffiLogDirtyPv,
  ffiLogDirtyPvh,
  pvLiveSave,
} from "./ffi_scenarios.ts";
import {
  xenmigMigrateTcp,
  xenmigMigrateToXl,
  xlBaseline,
  xlMigrateToXenmig,
} from "./migrate_scenarios.ts";
import { xenmigRestore, xenmigSave, xenmigSaveTimed, xlSaveVerify } from "./save_scenarios.ts";
import { record, type Scenario } from "./scenario_kit.ts";
import { sh } from "./shell.ts";

/** Scenario name → implementation. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  "ffi-list": ffiList,
  "ffi-info-pause": ffiInfoPause,
  "ffi-logdirty-pvh": ffiLogDirtyPvh,
  "ffi-logdirty-pv": ffiLogDirtyPv,
  "pv-live-save": pvLiveSave,
  "xl-save-verify": xlSaveVerify,
  "xenmig-restore": xenmigRestore,
  "xenmig-save": xenmigSave,
  "xenmig-migrate-tcp": xenmigMigrateTcp,
  "xl-migrate-to-xenmig": xlMigrateToXenmig,
  "xenmig-migrate-to-xl": xenmigMigrateToXl,
  "xl-baseline": xlBaseline,
  "xenmig-save-timed": xenmigSaveTimed,
  /** A debugging aid: runs `params.cmd` in dom0's shell. */
  exec: async (ctx, params) => {
    const r = await sh(String(params.cmd), ctx.log, {
      timeoutSeconds: Number(params.timeout ?? 120),
    });
    return { ...record(r), stdout: r.out, stderr: r.err };
  },
};
