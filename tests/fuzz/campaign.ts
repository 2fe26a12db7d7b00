/**
 * Runs fuzz campaigns: each target in its own host process (`host.ts`,
 * running the target in a Worker; at most `concurrency` at a time), a
 * fixed number of generated inputs (or until a wall-clock cap), with hang
 * detection — when an input runs past `timeoutMs` the host reports it and
 * exits, the input is regenerated from `(seed, index)` and reported as a
 * hang, and a fresh host carries on after it.  A host that dies (a native
 * crash) is a crash of the input it was on, found by replaying from its
 * last reported position.  Failing inputs are saved as crashers.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type FuzzInput, generateInput, type Seed } from "./mutators.ts";
import { saveCrasher } from "./crashers.ts";
import {
  type AllocationLimits,
  type FailureKind,
  type FailureReport,
  frame,
  FrameReader,
  type FromHost,
  type RunStats,
  type ToHost,
} from "./protocol.ts";

export type { AllocationLimits, FailureKind, FailureReport, RunStats };

/**
 * Allocation bounds.  The stream reader's buffer may grow to twice the
 * bytes it holds (doubling), starting at 256 KiB with 64 KiB read-ahead;
 * one fixed MiB covers that and the decoders' fixed-size buffers.  The sum
 * of all allocations of one input may be a small multiple of its length
 * (records are decoded by the verifier, the strict checks and the summary;
 * the converter writes a copy) plus a fixed 8 MiB.
 */
export const DEFAULT_LIMITS: AllocationLimits = {
  allocFactor: 2,
  allocFixed: 1024 * 1024,
  totalFactor: 64,
  totalFixed: 8 * 1024 * 1024,
};

/** What to run. */
export interface CampaignOptions {
  /** Target names (see `targets.ts`). */
  targets: readonly string[];
  /** Inputs per target (one number for all, or per target name). */
  inputs: number | Readonly<Record<string, number>>;
  /** Campaign seed: inputs are generated from `(seed, index)`. */
  seed: number;
  /** Seeds for v2 targets and for legacy targets. */
  seeds: { v2: Seed[]; legacy: Seed[] };
  /** Stop a target after this many seconds even if inputs remain. */
  maxSeconds?: number;
  /** A hang: no progress for this long (default 5000 ms). */
  timeoutMs?: number;
  /** Workers at a time (default 2). */
  concurrency?: number;
  /** Inputs per message to a worker (default 2000). */
  batch?: number;
  /** Where failing inputs are saved (not saved when absent). */
  crashersDir?: string;
  /** A module exporting `targetByName` to use instead of `targets.ts` (harness self-tests). */
  targetModule?: string;
  /** Allocation bounds (default {@linkcode DEFAULT_LIMITS}). */
  limits?: AllocationLimits;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One failure of a campaign. */
export interface Failure {
  /** Target. */
  target: string;
  /** Kind. */
  kind: FailureKind;
  /** Message. */
  message: string;
  /** Input index. */
  index: number;
  /** Where the input was saved, if it was. */
  saved?: string;
}

/** What one target's campaign found. */
export interface TargetReport {
  /** Target. */
  target: string;
  /** Seeds it used. */
  seeds: number;
  /** Totals (inputs includes hung ones). */
  stats: RunStats;
  /** Failures, deduplicated by kind and message shape. */
  failures: Failure[];
  /** Failing inputs in all (before deduplication). */
  failureCount: number;
  /** Hangs. */
  hangs: number;
  /** Wall time, ms. */
  ms: number;
  /** Stopped early by `maxSeconds`. */
  capped: boolean;
  /** Peak resident set size of the target's host process (reader, worker, simulator), bytes. */
  peakRss: number;
}

/** A campaign's result. */
export interface CampaignReport {
  /** Per target, in the order asked. */
  targets: TargetReport[];
  /** Peak resident set size of the campaign process (seeds, reports), bytes. */
  peakRss: number;
  /** Wall time, ms. */
  ms: number;
}

/** Where a run stopped: inputs started, outcomes of those finished. */
interface Position {
  started: number;
  ok: number;
  rejected: number;
}

/** What {@linkcode TargetHost.next} returns besides a message. */
type Stop = Position & ({ stop: "hang" } | { stop: "died"; why: string });

/**
 * A target's host process: messages in, messages out; knows how far the
 * current run got (from the host's progress reports), and can always be
 * killed.
 */
class TargetHost {
  readonly #child: Deno.ChildProcess;
  readonly #frames: FrameReader;
  readonly #stderr: Promise<string>;
  #at: Position = { started: 0, ok: 0, rejected: 0 };
  /** Largest resident set size the host reported, bytes. */
  peakRss = 0;

  constructor() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", fileURLToPath(new URL("./host.ts", import.meta.url))],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#frames = new FrameReader(child.stdout);
    // The last few KiB of stderr, for the report of a host that died.
    this.#stderr = (async () => {
      let tail = "";
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) tail = (tail + dec.decode(chunk)).slice(-4096);
      return tail;
    })();
  }

  /** Sends `msg`. */
  async post(msg: ToHost): Promise<void> {
    const w = this.#child.stdin.getWriter();
    try {
      await w.write(frame(msg));
    } finally {
      w.releaseLock();
    }
  }

  /**
   * The next message from the worker; a hang (reported by the host, which
   * then exits) or the host's death.  `deadline` bounds the wait for a host
   * that stops talking altogether (ms since the last frame).
   */
  async next(deadline: number): Promise<FromHost | Stop> {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silent = new Promise<"silent">((resolve) => {
        timer = setTimeout(() => resolve("silent"), deadline);
      });
      const msg = await Promise.race([this.#frames.next(), silent]);
      clearTimeout(timer);
      if (msg === "silent") {
        this.kill();
        return { stop: "died", ...this.#at, why: `silent for ${deadline} ms` };
      }
      if (msg === null) {
        const status = await this.#child.status;
        const why = `host exited (${status.signal ?? `code ${status.code}`}): ${await this
          .#stderr}`;
        return { stop: "died", ...this.#at, why };
      }
      const m = msg as FromHost;
      if (m.type === "progress") {
        this.#at = { started: m.started, ok: m.ok, rejected: m.rejected };
        this.peakRss = Math.max(this.peakRss, m.rss);
        continue;
      }
      if (m.type === "hang") {
        return { stop: "hang", started: m.started, ok: m.ok, rejected: m.rejected };
      }
      if (m.type === "worker-error") {
        return { stop: "died", ...this.#at, why: `worker error: ${m.message}` };
      }
      if (m.type === "done") this.#at = { started: 0, ok: 0, rejected: 0 };
      return m;
    }
  }

  /** Kills the host (and its worker). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    this.#frames.cancel();
  }

  /** Kills the host and waits for it to be gone. */
  async close(): Promise<void> {
    this.kill();
    await this.#child.status;
    await this.#stderr.catch(() => "");
    await this.#child.stdin.close().catch(() => {});
  }
}

/** Starts a host for `target` and waits until its worker is ready. */
async function startHost(
  target: string,
  seeds: Seed[],
  opts: { targetModule?: string; timeoutMs?: number },
  replay = false,
): Promise<{ host: TargetHost; seeds: string[] }> {
  const host = new TargetHost();
  await host.post({
    type: "init",
    timeoutMs: opts.timeoutMs ?? 5000,
    worker: { type: "init", target, targetModule: opts.targetModule, seeds, replay },
  });
  const msg = await host.next(180_000);
  if ("stop" in msg || msg.type !== "ready") {
    await host.close();
    const why = "stop" in msg
      ? (msg.stop === "died" ? msg.why : "hang during setup")
      : msg.type === "fatal"
      ? msg.message
      : msg.type;
    throw new Error(`fuzz host for ${target} failed to start: ${why}`);
  }
  return { host, seeds: msg.seeds };
}

function mergeStats(into: RunStats, s: RunStats): void {
  into.inputs += s.inputs;
  into.ok += s.ok;
  into.failures += s.failures;
  for (const [k, v] of Object.entries(s.rejected)) into.rejected[k] = (into.rejected[k] ?? 0) + v;
  if (s.largestAlloc.bytes > into.largestAlloc.bytes) into.largestAlloc = s.largestAlloc;
  if (s.largestTotal.bytes > into.largestTotal.bytes) into.largestTotal = s.largestTotal;
  into.peakHeap = Math.max(into.peakHeap, s.peakHeap);
}

/** The shape of a failure message, for deduplication: numbers and offsets blurred. */
export function failureShape(kind: string, message: string): string {
  return `${kind}:${message.split("\n")[0].replace(/0x[0-9a-f]+|\d+/gi, "N")}`;
}

/** Runs the campaign of one target. */
async function runTarget(
  target: string,
  opts: CampaignOptions,
  rss: () => void,
): Promise<TargetReport> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 5000;
  const batch = opts.batch ?? 2000;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const stats: RunStats = {
    inputs: 0,
    ok: 0,
    rejected: {},
    failures: 0,
    largestAlloc: { bytes: 0, inputLength: 0, what: "" },
    largestTotal: { bytes: 0, inputLength: 0 },
    peakHeap: 0,
  };
  const failures: Failure[] = [];
  const shapes = new Set<string>();
  let failureCount = 0, hangs = 0;
  let seedNames: string[] = [];

  let familySeeds = target === "legacy" ? opts.seeds.legacy : opts.seeds.v2;
  let host: TargetHost | undefined;
  let peakRss = 0;
  const record = async (f: FailureReport, input: FuzzInput) => {
    failureCount++;
    const shape = failureShape(f.kind, f.message);
    if (shapes.has(shape)) return;
    shapes.add(shape);
    const saved = opts.crashersDir
      ? await saveCrasher(opts.crashersDir, {
        target,
        kind: f.kind,
        message: f.message,
        seed: opts.seed,
        index: f.index,
      }, input)
      : undefined;
    failures.push({ target, kind: f.kind, message: f.message, index: f.index, saved });
    log(
      `${target}: ${f.kind} at input ${f.index}: ${f.message.split("\n")[0]}${
        saved ? ` (saved ${saved})` : ""
      }`,
    );
  };

  const total = typeof opts.inputs === "number" ? opts.inputs : opts.inputs[target] ?? 0;
  let next = 0;
  let capped = false;
  try {
    while (next < total) {
      if (opts.maxSeconds !== undefined && performance.now() - t0 > opts.maxSeconds * 1000) {
        capped = true;
        break;
      }
      if (!host) {
        const started = await startHost(target, familySeeds, opts);
        host = started.host;
        seedNames = started.seeds;
        // Regenerating an input needs the seeds the worker uses, in its order.
        const usable = new Set(seedNames);
        familySeeds = familySeeds.filter((s) => usable.has(s.name));
      }
      const count = Math.min(batch, total - next);
      const start = next;
      await host.post({ type: "run", seed: opts.seed, start, count, limits });
      for (;;) {
        rss();
        const msg = await host.next(timeoutMs + 60_000);
        peakRss = Math.max(peakRss, host.peakRss);
        if ("stop" in msg) {
          // The host is gone: a hang it reported, or a death (native crash).
          await host.close();
          host = undefined;
          let index = start + Math.max(0, msg.started - 1);
          let message: string;
          const kind: FailureKind = msg.stop === "hang" ? "hang" : "crash";
          if (msg.stop === "hang") {
            hangs++;
            const input = generateInput(familySeeds, opts.seed, index);
            message = `no result after ${timeoutMs} ms (seed ${input.seed}, ops ${
              input.ops.join("+")
            })`;
          } else {
            // Progress is reported every 200 ms: replay from there, one
            // input at a time, to find the one that kills the host.
            const found = await findDeath(target, familySeeds, opts, index, start + count);
            index = found.index;
            message = `host died: ${found.why ?? msg.why}`;
          }
          const input = generateInput(familySeeds, opts.seed, index);
          await record({ index, kind, message, input }, input);
          // The inputs before it ran; fold in what the counters said of them.
          stats.inputs += index - start + 1;
          stats.ok += msg.ok;
          stats.rejected["(before a hang or crash)"] =
            (stats.rejected["(before a hang or crash)"] ?? 0) + msg.rejected;
          stats.failures += index - start + 1 - msg.ok - msg.rejected;
          next = index + 1;
          break;
        }
        if (msg.type === "failure") {
          await record(msg.failure, msg.failure.input);
          continue;
        }
        if (msg.type === "done") {
          mergeStats(stats, msg.stats);
          next = start + count;
          const rate = stats.inputs / ((performance.now() - t0) / 1000);
          log(
            `${target}: ${stats.inputs} inputs, ${stats.ok} ok, ${failureCount} failures (${
              rate.toFixed(0)
            }/s)`,
          );
          break;
        }
        if (msg.type === "fatal") throw new Error(`fuzz worker for ${target}: ${msg.message}`);
      }
    }
  } finally {
    await host?.close();
  }
  return {
    target,
    seeds: seedNames.length,
    stats,
    failures,
    failureCount,
    hangs,
    ms: performance.now() - t0,
    capped,
    peakRss,
  };
}

/**
 * Runs every target of `opts` and reports.
 *
 * @example
 * ```ts ignore
 * const report = await runCampaign({ targets: ["parse"], inputs: 1000, seed: 1, seeds });
 * console.log(report.targets[0].stats.inputs);
 * ```
 */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const t0 = performance.now();
  let peakRss = 0;
  const rss = () => {
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  };
  const timer = setInterval(rss, 250);
  try {
    const queue = [...opts.targets];
    const reports = new Map<string, TargetReport>();
    const lanes = Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        reports.set(t, await runTarget(t, opts, rss));
      }
    });
    await Promise.all(lanes);
    rss();
    return {
      targets: opts.targets.map((t) => reports.get(t)!),
      peakRss,
      ms: performance.now() - t0,
    };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Replays inputs `from` .. `to` one at a time in fresh hosts until one
 * kills its host; returns its index (or `from`, if none does alone).
 */
async function findDeath(
  target: string,
  seeds: Seed[],
  opts: CampaignOptions,
  from: number,
  to: number,
): Promise<{ index: number; why?: string }> {
  const inputs: FuzzInput[] = [];
  for (let i = from; i < Math.min(to, from + 2000); i++) {
    inputs.push(generateInput(seeds, opts.seed, i));
  }
  const results = await replayInputs(target, inputs, { ...opts, stopAtFailure: true });
  const i = results.findIndex((r) => r.outcome === "crash" || r.outcome === "hang");
  return i < 0
    ? { index: from, why: "(not reproduced by replaying the input alone)" }
    : { index: from + i, why: results[i].message };
}

/**
 * Runs saved inputs through `target` in a host, one at a time with the
 * hang timeout; returns each outcome ("ok", an error name, or a failure
 * kind with its message).  A host that hangs or dies is replaced.
 */
export async function replayInputs(
  target: string,
  inputs: readonly FuzzInput[],
  opts: {
    timeoutMs?: number;
    limits?: AllocationLimits;
    targetModule?: string;
    stopAtFailure?: boolean;
  } = {},
): Promise<{ outcome: string; message?: string }[]> {
  const out: { outcome: string; message?: string }[] = [];
  let host: TargetHost | undefined;
  try {
    for (const input of inputs) {
      host ??= (await startHost(target, [], opts, true)).host;
      await host.post({ type: "replay", inputs: [input], limits: opts.limits ?? DEFAULT_LIMITS });
      const msg = await host.next((opts.timeoutMs ?? 5000) + 60_000);
      if ("stop" in msg) {
        out.push({
          outcome: msg.stop === "hang" ? "hang" : "crash",
          message: msg.stop === "died" ? msg.why : undefined,
        });
        await host.close();
        host = undefined;
        if (opts.stopAtFailure) break;
        continue;
      }
      if (msg.type !== "replayed") throw new Error(`unexpected message ${msg.type} from the host`);
      const r = msg.results[0];
      out.push({ outcome: r.outcome, message: r.failure?.message });
    }
  } finally {
    await host?.close();
  }
  return out;
}
