/**
 * Runs fuzz campaigns: each target in its own Worker (at most
 * `concurrency` at a time), a fixed number of generated inputs (or until a
 * wall-clock cap), with hang detection — a worker whose progress counter
 * has not moved for `timeoutMs` is terminated, the input it was on is
 * regenerated from `(seed, index)` and reported as a hang, and a fresh
 * worker carries on after it.  Failing inputs are saved as crashers.
 *
 * @module
 */

import { type FuzzInput, generateInput, type Seed } from "./mutators.ts";
import { saveCrasher } from "./crashers.ts";
import type {
  AllocationLimits,
  FailureKind,
  FailureReport,
  FromWorker,
  RunStats,
  ToWorker,
} from "./worker.ts";

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
}

/** A campaign's result. */
export interface CampaignReport {
  /** Per target, in the order asked. */
  targets: TargetReport[];
  /** Peak resident set size of the process, bytes. */
  peakRss: number;
  /** Wall time, ms. */
  ms: number;
}

/** A worker driven by messages, with the input it is on readable at any time. */
class FuzzWorker {
  readonly worker: Worker;
  readonly progress = new SharedArrayBuffer(16);
  #queue: FromWorker[] = [];
  #wake?: () => void;
  #error?: string;

  constructor() {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      this.#queue.push(ev.data);
      this.#wake?.();
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.#error = `${ev.message} (${ev.filename}:${ev.lineno})`;
      this.#wake?.();
    };
    this.worker.onmessageerror = () => {
      this.#error = "message could not be deserialised";
      this.#wake?.();
    };
  }

  post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  /** The position counter (inputs started in the current run). */
  get started(): number {
    return Atomics.load(new Int32Array(this.progress), 0);
  }

  /**
   * The next message, or "timeout" when `stalled()` says the worker has
   * stopped making progress, or "error" when it died.
   */
  async next(stalled: () => boolean): Promise<FromWorker | "timeout" | "error"> {
    for (;;) {
      const msg = this.#queue.shift();
      if (msg) return msg;
      if (this.#error) return "error";
      if (stalled()) return "timeout";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  get error(): string | undefined {
    return this.#error;
  }

  terminate(): void {
    this.worker.terminate();
  }
}

/** Starts a worker for `target` and waits until it is ready. */
async function startWorker(
  target: string,
  seeds: Seed[],
  opts: { targetModule?: string },
  replay = false,
): Promise<{ worker: FuzzWorker; seeds: string[] }> {
  const worker = new FuzzWorker();
  worker.post({ type: "init", target, targetModule: opts.targetModule, seeds, replay });
  const deadline = performance.now() + 120_000;
  const msg = await worker.next(() => performance.now() > deadline);
  if (typeof msg === "string" || msg.type !== "ready") {
    worker.terminate();
    const why = typeof msg === "string"
      ? worker.error ?? msg
      : msg.type === "fatal"
      ? msg.message
      : msg.type;
    throw new Error(`fuzz worker for ${target} failed to start: ${why}`);
  }
  return { worker, seeds: msg.seeds };
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
  let worker: FuzzWorker | undefined;
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
      if (!worker) {
        const started = await startWorker(target, familySeeds, opts);
        worker = started.worker;
        seedNames = started.seeds;
        // Regenerating a hung input needs the seeds the worker used, in its order.
        const usable = new Set(seedNames);
        familySeeds = familySeeds.filter((s) => usable.has(s.name));
      }
      const count = Math.min(batch, total - next);
      const start = next;
      new Int32Array(worker.progress).fill(0);
      worker.post({
        type: "run",
        seed: opts.seed,
        start,
        count,
        limits,
        progress: worker.progress,
      });
      let seen = 0, since = performance.now();
      for (;;) {
        const w: FuzzWorker = worker;
        const msg = await w.next(() => {
          rss();
          const now = w.started;
          if (now !== seen) {
            seen = now;
            since = performance.now();
            return false;
          }
          return performance.now() - since > timeoutMs;
        });
        if (msg === "timeout" || msg === "error") {
          const index = start + Math.max(0, w.started - 1);
          const input = generateInput(familySeeds, opts.seed, index);
          const kind: FailureKind = msg === "timeout" ? "hang" : "crash";
          if (kind === "hang") hangs++;
          const message = kind === "hang"
            ? `no result after ${timeoutMs} ms (seed ${input.seed}, ops ${input.ops.join("+")})`
            : `worker died: ${w.error}`;
          await record({ index, kind, message, input }, input);
          // The inputs before it ran: fold in what the counters say of them.
          const counters = new Int32Array(w.progress);
          const ok = Atomics.load(counters, 1), rejected = Atomics.load(counters, 2);
          stats.inputs += index - start + 1;
          stats.ok += ok;
          stats.rejected["(before a hang)"] = (stats.rejected["(before a hang)"] ?? 0) + rejected;
          stats.failures += index - start + 1 - ok - rejected;
          w.terminate();
          worker = undefined;
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
    worker?.terminate();
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
 * Runs saved inputs through `target` in a worker, one at a time with the
 * hang timeout; returns each outcome ("ok", an error name, or a failure).
 */
export async function replayInputs(
  target: string,
  inputs: readonly FuzzInput[],
  opts: { timeoutMs?: number; limits?: AllocationLimits; targetModule?: string } = {},
): Promise<{ outcome: string; message?: string }[]> {
  const out: { outcome: string; message?: string }[] = [];
  let worker: FuzzWorker | undefined;
  try {
    for (const input of inputs) {
      worker ??= (await startWorker(target, [], opts, true)).worker;
      worker.post({ type: "replay", inputs: [input], limits: opts.limits ?? DEFAULT_LIMITS });
      const deadline = performance.now() + (opts.timeoutMs ?? 5000);
      const msg = await worker.next(() => performance.now() > deadline);
      if (typeof msg === "string") {
        out.push({ outcome: msg === "timeout" ? "hang" : "crash", message: worker.error });
        worker.terminate();
        worker = undefined;
        continue;
      }
      if (msg.type !== "replayed") throw new Error(`unexpected worker message ${msg.type}`);
      const r = msg.results[0];
      out.push({ outcome: r.outcome, message: r.failure?.message });
    }
  } finally {
    worker?.terminate();
  }
  return out;
}
