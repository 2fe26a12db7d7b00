/**
 * The Xen lab as the host test drives it: builds (or reuses) the images,
 * installs QEMU if needed, writes dom0's overlay (the project's sources
 * and a warmed DENO_DIR), boots Xen + dom0,
 * waits for the dom0 agent, runs scenarios through the 9p share, and
 * stops QEMU — always, and within a bounded time, including on Ctrl-C.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type AgentReady,
  READY_FILE,
  REQUEST_DIR,
  RESULT_DIR,
  type ScenarioRequest,
  type ScenarioResult,
} from "../common/protocol.ts";
import { labImages } from "./images.ts";
import { writeOverlay } from "./overlay.ts";
import { PROJECT_ROOT, RUN_DIR } from "./paths.ts";
import { ensureQemu, type QemuExit, QemuVm } from "./qemu.ts";

/** Options of {@linkcode XenLab.start}. */
export interface XenLabOptions {
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
  /** Hard limit on QEMU's lifetime, seconds (default 3600). */
  timeLimitSeconds?: number;
  /** Seconds to wait for the dom0 agent (default 240). */
  bootTimeoutSeconds?: number;
}

/** Where the time went before the first scenario. */
export interface LabTimings {
  /** Fetching packages and building (or finding) the images. */
  imagesSeconds: number;
  /** Whether the images were built (false: cached). */
  imagesBuilt: boolean;
  /** Host seconds from QEMU start to "dom0 ready" (xl works). */
  dom0ReadySeconds: number;
  /** Host seconds from QEMU start to the agent's ready file. */
  agentReadySeconds: number;
}

/** How many run directories to keep. */
const KEEP_RUNS = 3;

/** Xen's command line: serial console, a PV dom0 with 2 GiB and 2 vcpus. */
const XEN_CMDLINE = "console=com1 com1=115200,8n1 console_timestamps=boot dom0=pv " +
  "dom0_mem=2048M,max:2048M dom0_max_vcpus=2 loglvl=all guest_loglvl=all";

/** A booted lab. */
export class XenLab {
  /** This run's directory (serial.log, share/, ...). */
  readonly runDir: string;
  /** The 9p share dom0 mounts at /mnt/lab. */
  readonly share: string;
  /** Start-up timings. */
  readonly timings: LabTimings;
  /** What the agent reported when ready. */
  readonly agent: AgentReady;
  #vm: QemuVm;
  #log: (line: string) => void;
  #seq = 0;
  #signals: [Deno.Signal, () => void][] = [];
  #unload: () => void;

  private constructor(
    vm: QemuVm,
    runDir: string,
    timings: LabTimings,
    agent: AgentReady,
    log: (line: string) => void,
  ) {
    this.#vm = vm;
    this.runDir = runDir;
    this.share = join(runDir, "share");
    this.timings = timings;
    this.agent = agent;
    this.#log = log;
    this.#unload = () => vm.killNow();
    XenLab.#guard(vm, this.#signals);
    globalThis.addEventListener("unload", this.#unload);
  }

  /** Kills QEMU and exits on Ctrl-C / SIGTERM / SIGHUP. */
  static #guard(vm: QemuVm, into: [Deno.Signal, () => void][]): void {
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as Deno.Signal[]) {
      const handler = () => {
        console.error(`\nxen lab: ${sig}: stopping QEMU`);
        vm.killNow();
        Deno.exit(130);
      };
      Deno.addSignalListener(sig, handler);
      into.push([sig, handler]);
    }
  }

  /** Builds, boots, and waits for the dom0 agent. */
  static async start(options: XenLabOptions = {}): Promise<XenLab> {
    const log = options.log ?? ((l: string) => console.log(l));
    const images = await labImages(log);
    log(
      `images ${images.hash}: ${images.built ? "built" : "cached"} (${
        images.seconds.toFixed(1)
      } s)`,
    );
    await ensureQemu(log);

    const runDir = await newRunDir();
    const share = join(runDir, "share");
    await Deno.mkdir(share, { recursive: true });
    const overlayFiles = await writeOverlay(join(share, "overlay.cpio"), runDir);
    log(`overlay: ${overlayFiles} project files and a warmed DENO_DIR`);

    const vm = await QemuVm.start({
      xen: images.xen,
      xenCmdline: XEN_CMDLINE,
      dom0Kernel: images.kernel,
      dom0Cmdline: `console=hvc0 earlyprintk=xen loglevel=6 xenmig_root=${PROJECT_ROOT}`,
      dom0Initramfs: images.dom0Initramfs,
      shares: [{ tag: "lab", path: share }],
      runDir,
      timeLimitSeconds: options.timeLimitSeconds ?? 3600,
    });
    const early: [Deno.Signal, () => void][] = [];
    XenLab.#guard(vm, early);
    const unguard = () => early.forEach(([s, h]) => Deno.removeSignalListener(s, h));
    try {
      const bootTimeout = (options.bootTimeoutSeconds ?? 240) * 1000;
      const dom0 = await vm.waitForSerial(/@@LAB dom0-ready/, bootTimeout);
      const dom0ReadySeconds = vm.uptime;
      if (!dom0) throw new Error(`dom0 did not come up\n${tail(vm.serialTail(40))}`);
      const readyPath = join(share, READY_FILE);
      const deadline = performance.now() + bootTimeout;
      while (!existsSync(readyPath)) {
        if (vm.exited || performance.now() > deadline) {
          throw new Error(`the dom0 agent did not start\n${tail(vm.serialTail(40))}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const agent: AgentReady = JSON.parse(await Deno.readTextFile(readyPath));
      const timings = {
        imagesSeconds: images.seconds,
        imagesBuilt: images.built,
        dom0ReadySeconds,
        agentReadySeconds: vm.uptime,
      };
      unguard();
      return new XenLab(vm, runDir, timings, agent, log);
    } catch (e) {
      await vm.stop(0);
      unguard();
      throw e;
    }
  }

  /** Seconds since QEMU started. */
  get uptime(): number {
    return this.#vm.uptime;
  }

  /**
   * Runs one scenario in dom0 and returns the agent's result.  Throws if
   * QEMU dies or no result comes within `timeoutSeconds` (+ a margin).
   */
  async run(
    scenario: string,
    params: Record<string, unknown> = {},
    timeoutSeconds = 300,
  ): Promise<ScenarioResult> {
    const id = `${String(++this.#seq).padStart(3, "0")}-${scenario}`;
    const req: ScenarioRequest = { id, scenario, params, timeoutSeconds };
    const reqPath = join(this.share, REQUEST_DIR, `${id}.json`);
    await Deno.writeTextFile(`${reqPath}.tmp`, JSON.stringify(req));
    await Deno.rename(`${reqPath}.tmp`, reqPath);
    const resultPath = join(this.share, RESULT_DIR, `${id}.json`);
    const deadline = performance.now() + (timeoutSeconds + 60) * 1000;
    while (!existsSync(resultPath)) {
      if (this.#vm.exited) {
        throw new Error(`QEMU exited during ${id}\n${tail(this.#vm.serialTail(40))}`);
      }
      if (performance.now() > deadline) {
        throw new Error(
          `no result for ${id} after ${timeoutSeconds + 60} s\n` +
            tail(this.#vm.serialTail(40)),
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return JSON.parse(await Deno.readTextFile(resultPath));
  }

  /** What to show when a scenario's verdict is negative. */
  async failureContext(result?: ScenarioResult): Promise<string> {
    const parts: string[] = [];
    if (result) {
      const logText = await Deno.readTextFile(join(this.share, result.logFile)).catch(() => "");
      // The log ends with Xen's and dom0's kernel logs, shown on their own below.
      const commands = logText.split(/^ {8}(?:xl dmesg|dom0 dmesg):$/m)[0];
      parts.push(section(`dom0 log ${result.logFile} (last 60 lines)`, lastLines(commands, 60)));
      for (const [file, lines] of Object.entries(result.consoleTails)) {
        parts.push(section(`guest console ${file} (tail, heartbeats thinned)`, lines.slice(-25)));
      }
      // HVM save/restore records are listed per domain build: noise here.
      const xen = result.xenDmesg.split("\n").filter((l) =>
        !/HVM ?d?\d+(v\d+)? (save|restore):/.test(l)
      );
      parts.push(section("xl dmesg (scenario window, HVM record lines left out)", xen.slice(-25)));
      if (result.environmentFaults.length) {
        parts.push(section("environment faults", result.environmentFaults));
      }
    }
    parts.push(section("serial console (last 15 lines)", this.#vm.serialTail(15)));
    parts.push(`(everything: ${this.runDir})`);
    return parts.join("\n");
  }

  /**
   * Asks the agent to finish, waits for dom0 to power off, and makes sure
   * QEMU is gone (SIGTERM, then SIGKILL).  Idempotent.
   */
  async stop(): Promise<{ how: QemuExit; seconds: number }> {
    const t0 = performance.now();
    if (!this.#vm.exited) {
      const id = `${String(++this.#seq).padStart(3, "0")}-shutdown`;
      const reqPath = join(this.share, REQUEST_DIR, `${id}.json`);
      await Deno.writeTextFile(
        reqPath,
        JSON.stringify({ id, scenario: "shutdown", params: {}, timeoutSeconds: 10 }),
      ).catch(() => {});
    }
    const how = await this.#vm.stop(30_000);
    for (const [sig, handler] of this.#signals) Deno.removeSignalListener(sig, handler);
    this.#signals = [];
    globalThis.removeEventListener("unload", this.#unload);
    const seconds = (performance.now() - t0) / 1000;
    this.#log(`QEMU ${how} (stop took ${seconds.toFixed(1)} s); run directory ${this.runDir}`);
    return { how, seconds };
  }

  /** Whether QEMU is still running. */
  get running(): boolean {
    return !this.#vm.exited;
  }
}

function lastLines(text: string, n: number): string[] {
  return text.trimEnd().split("\n").slice(-n);
}

function tail(lines: string[]): string {
  return lines.map((l) => `  | ${l}`).join("\n");
}

function section(title: string, lines: string[]): string {
  return `--- ${title} ---\n${tail(lines)}`;
}

/** A new run directory; prunes old ones. */
async function newRunDir(): Promise<string> {
  await Deno.mkdir(RUN_DIR, { recursive: true });
  const names: string[] = [];
  for await (const e of Deno.readDir(RUN_DIR)) if (e.isDirectory) names.push(e.name);
  names.sort();
  for (const old of names.slice(0, Math.max(0, names.length - (KEEP_RUNS - 1)))) {
    await Deno.remove(join(RUN_DIR, old), { recursive: true }).catch(() => {});
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(RUN_DIR, stamp);
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}
