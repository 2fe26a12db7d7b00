/**
 * The lab's agent in dom0: waits for scenario requests on the 9p share,
 * runs each one (bracketed by `xl dmesg -c` so environment faults in its
 * window — guest triple faults, dom0 crashes — are reported), and writes
 * the result back.  Started by `init.sh`; exits 0 when the host asks it to
 * shut down.
 *
 * Usage (in dom0): `deno run -A tests/xen/dom0/agent.ts /mnt/lab`
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type AgentReady,
  LOG_DIR,
  READY_FILE,
  REQUEST_DIR,
  RESULT_DIR,
  type ScenarioRequest,
  type ScenarioResult,
} from "../common/protocol.ts";
import { GuestPool } from "./guests.ts";
import type { ScenarioContext } from "./scenario_kit.ts";
import { SCENARIOS } from "./scenarios.ts";
import { ScenarioLog, sh, sleep, uptime } from "./shell.ts";
import { NotImplementedError } from "./xenmig.ts";

const started = performance.now();

/** Xen log lines that mean the environment, not the product, failed. */
const XEN_FAULTS = /Triple fault|crashed on cpu|domain_crash|Unhandled .*#PF/i;
/** dom0 kernel log lines that mean a dom0 process or the kernel crashed. */
const DOM0_FAULTS = /segfault at|general protection|traps: |Kernel panic|BUG: |Oops/;

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(value, null, 1));
  Deno.renameSync(tmp, path);
}

function console0(line: string): void {
  console.log(`@@AGENT ${line}`);
}

/** Lines of dom0's kernel log so far. */
async function dom0Dmesg(): Promise<string[]> {
  return (await sh("dmesg")).out.trimEnd().split("\n");
}

async function runScenario(
  share: string,
  req: ScenarioRequest,
  pool: GuestPool,
  projectRoot: string,
): Promise<ScenarioResult> {
  const logFile = join(LOG_DIR, `${req.id}.log`);
  const log = new ScenarioLog(join(share, logFile));
  const t0 = performance.now();
  const ctx: ScenarioContext = { log, pool, projectRoot, guests: [], share };
  await sh("xl dmesg -c", undefined, { timeoutSeconds: 30 });
  const dmesgBefore = (await dom0Dmesg()).length;
  log.line(`scenario ${req.scenario} ${JSON.stringify(req.params)} (dom0 uptime ${uptime()} s)`);
  const result: ScenarioResult = {
    id: req.id,
    scenario: req.scenario,
    status: "done",
    observations: {},
    logFile,
    consoleTails: {},
    xenDmesg: "",
    environmentFaults: [],
    seconds: 0,
  };
  const scenario = SCENARIOS[req.scenario];
  try {
    if (!scenario) throw new Error(`unknown scenario '${req.scenario}'`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`scenario timed out after ${req.timeoutSeconds} s`)),
        req.timeoutSeconds * 1000,
      );
    });
    try {
      result.observations = await Promise.race([scenario(ctx, req.params), timeout]) as Record<
        string,
        unknown
      >;
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    if (e instanceof NotImplementedError) {
      result.status = "not-implemented";
      result.notImplemented = e.command;
      log.line(e.message);
    } else {
      result.status = "error";
      result.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      log.line(`error: ${result.error}`);
    }
  }
  const xen = await sh("xl dmesg -c", undefined, { timeoutSeconds: 30 });
  result.xenDmesg = xen.out;
  const dom0New = (await dom0Dmesg()).slice(dmesgBefore);
  result.environmentFaults = [
    ...xen.out.split("\n").filter((l) => XEN_FAULTS.test(l)).map((l) => `xen: ${l.trim()}`),
    ...dom0New.filter((l) => DOM0_FAULTS.test(l)).map((l) => `dom0: ${l.trim()}`),
  ];
  for (const g of ctx.guests) Object.assign(result.consoleTails, pool.tails(g));
  log.block("xl dmesg", xen.out);
  if (dom0New.length) log.block("dom0 dmesg", dom0New.join("\n"));
  result.seconds = (performance.now() - t0) / 1000;
  log.line(`${result.status} in ${result.seconds.toFixed(1)} s`);
  return result;
}

async function main(share: string): Promise<void> {
  const projectRoot = Deno.env.get("XENMIG_ROOT");
  if (!projectRoot) throw new Error("XENMIG_ROOT is not set");
  for (const d of [REQUEST_DIR, RESULT_DIR, LOG_DIR]) {
    Deno.mkdirSync(join(share, d), { recursive: true });
  }
  const pool = new GuestPool();
  const boot = await sh("xl dmesg -c", undefined, { timeoutSeconds: 30 });
  Deno.writeTextFileSync(join(share, LOG_DIR, "xen-boot.log"), boot.out);

  // Requests a crashed predecessor started but never answered.
  for (const name of [...Deno.readDirSync(join(share, RESULT_DIR))].map((e) => e.name)) {
    const m = name.match(/^(.*)\.started$/);
    if (!m || existsSync(join(share, RESULT_DIR, `${m[1]}.json`))) continue;
    const req: ScenarioRequest = JSON.parse(
      Deno.readTextFileSync(join(share, REQUEST_DIR, `${m[1]}.json`)),
    );
    writeJsonAtomic(
      join(share, RESULT_DIR, `${m[1]}.json`),
      {
        id: req.id,
        scenario: req.scenario,
        status: "error",
        error: "the dom0 agent died during this scenario (restarted by init)",
        observations: {},
        logFile: join(LOG_DIR, `${req.id}.log`),
        consoleTails: {},
        xenDmesg: "",
        environmentFaults: ["dom0: the deno agent crashed"],
        seconds: 0,
      } satisfies ScenarioResult,
    );
  }

  const ready: AgentReady = {
    uptime: uptime(),
    startSeconds: (performance.now() - started) / 1000,
    xlInfo: (await sh("xl info", undefined, { timeoutSeconds: 30 })).out,
    deno: Deno.version.deno,
  };
  writeJsonAtomic(join(share, READY_FILE), ready);
  console0(`ready in ${ready.startSeconds.toFixed(1)} s`);

  const done = new Set<string>();
  for (;;) {
    const pending = [...Deno.readDirSync(join(share, REQUEST_DIR))]
      .map((e) => e.name)
      .filter((n) => n.endsWith(".json") && !done.has(n))
      .sort();
    if (!pending.length) {
      await sleep(200);
      continue;
    }
    const name = pending[0];
    done.add(name);
    const req: ScenarioRequest = JSON.parse(
      Deno.readTextFileSync(join(share, REQUEST_DIR, name)),
    );
    const resultPath = join(share, RESULT_DIR, `${req.id}.json`);
    if (existsSync(resultPath)) continue;
    if (req.scenario === "shutdown") {
      writeJsonAtomic(resultPath, { id: req.id, scenario: "shutdown", status: "done" });
      console0("shutdown requested");
      return;
    }
    Deno.writeTextFileSync(join(share, RESULT_DIR, `${req.id}.started`), "");
    console0(`${req.id} start`);
    const result = await runScenario(share, req, pool, projectRoot);
    writeJsonAtomic(resultPath, result);
    console0(`${req.id} ${result.status} ${result.seconds.toFixed(1)} s`);
  }
}

if (import.meta.main) {
  await main(Deno.args[0] ?? "/mnt/lab");
  Deno.exit(0);
}
