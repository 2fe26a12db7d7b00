/**
 * The fuzz worker: runs one target over a range of generated inputs (or a
 * given list), judging each outcome.  It bumps a shared progress counter
 * before each input, so its host (`host.ts`) sees a hang — the counter
 * stops — while the worker itself is stuck.
 *
 * The allocation meter is installed before the targets are imported, so
 * every allocation the readers make is measured.  Per input it checks:
 *
 * - the outcome: success or one of the target's typed errors, whose
 *   `offset` is an integer within the input and whose message is not empty;
 * - allocation: the largest single allocation is at most
 *   `allocFactor × input length + allocFixed`, and the sum of all at most
 *   `totalFactor × input length + totalFixed`;
 * - the target's own post-conditions (leaks, stray accesses).
 *
 * It runs inside `host.ts`, a subprocess per target; the protocol is in
 * `protocol.ts`: `init` → `ready`; `run` → `failure`* → `done`; `replay` →
 * `replayed`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { installAllocationMeter } from "./alloc_meter.ts";
import { type FuzzInput, generateInput, type Seed } from "./mutators.ts";
import type {
  AllocationLimits,
  FailureKind,
  FailureReport,
  FromWorker,
  RunStats,
  ToWorker,
} from "./protocol.ts";

const meter = installAllocationMeter();
// Imported only now, so module code finds the metered constructors.
type Targets = typeof import("./targets.ts");
let targets: Targets;

let target: import("./targets.ts").FuzzTarget;
let seeds: Seed[] = [];

function post(msg: FromWorker): void {
  self.postMessage(msg);
}

function newStats(): RunStats {
  return {
    inputs: 0,
    ok: 0,
    rejected: {},
    failures: 0,
    largestAlloc: { bytes: 0, inputLength: 0, what: "" },
    largestTotal: { bytes: 0, inputLength: 0 },
    peakHeap: 0,
  };
}

/** Runs one input; returns its outcome ("ok", an error name) or a failure. */
async function runOne(
  input: FuzzInput,
  index: number,
  limits: AllocationLimits,
  stats: RunStats,
): Promise<{ outcome: string; failure?: FailureReport }> {
  const fail = (kind: FailureKind, message: string) => ({
    outcome: kind,
    failure: { index, kind, message, input },
  });
  const len = input.bytes.length;
  meter.reset();
  let outcome = "ok";
  let failure: { outcome: string; failure: FailureReport } | undefined;
  try {
    await target.run(input);
  } catch (e) {
    if (e instanceof Error && e.name === "AllocationRefused") {
      failure = fail("alloc", e.message);
    } else if (e instanceof targets.InvariantFailure) {
      failure = fail("invariant", e.message);
    } else if (target.isTyped(e)) {
      const err = e as Error & { offset: unknown };
      outcome = err.name;
      if (
        !Number.isSafeInteger(err.offset) || (err.offset as number) < 0 ||
        (err.offset as number) > len
      ) {
        failure = fail(
          "bad-error",
          `${err.name} offset ${err.offset} not in 0..${len}: ${err.message}`,
        );
      } else if (!err.message) {
        failure = fail("bad-error", `${err.name} without a message`);
      }
    } else {
      failure = fail(
        "crash",
        e instanceof Error
          ? `${e.name}: ${e.message}\n${e.stack ?? ""}`
          : `non-Error thrown: ${String(e)}`,
      );
    }
  }
  const a = meter.stats();
  if (!failure) {
    if (a.largest > limits.allocFactor * len + limits.allocFixed) {
      failure = fail("alloc", `largest allocation ${a.largestWhat} for an input of ${len} bytes`);
    } else if (a.total > limits.totalFactor * len + limits.totalFixed) {
      failure = fail("alloc", `${a.total} bytes allocated in all for an input of ${len} bytes`);
    }
  }
  const left = target.check?.();
  if (left && !failure) failure = fail("leak", left);
  stats.inputs++;
  if (a.largest > stats.largestAlloc.bytes) {
    stats.largestAlloc = { bytes: a.largest, inputLength: len, what: a.largestWhat };
  }
  if (a.total > stats.largestTotal.bytes) stats.largestTotal = { bytes: a.total, inputLength: len };
  if (failure) {
    stats.failures++;
    return failure;
  }
  if (outcome === "ok") stats.ok++;
  else stats.rejected[outcome] = (stats.rejected[outcome] ?? 0) + 1;
  return { outcome };
}

function sampleHeap(stats: RunStats): void {
  stats.peakHeap = Math.max(stats.peakHeap, Deno.memoryUsage().heapUsed);
}

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  try {
    switch (msg.type) {
      case "init": {
        targets = await import("./targets.ts");
        const factory = msg.targetModule
          ? (await import(msg.targetModule)).targetByName as Targets["targetByName"]
          : targets.targetByName;
        target = factory(msg.target);
        seeds = await target.setup(msg.seeds);
        if (seeds.length === 0 && !msg.replay) {
          throw new Error(`no usable seeds for target ${msg.target}`);
        }
        post({ type: "ready", seeds: seeds.map((s) => s.name) });
        break;
      }
      case "run": {
        const progress = new Int32Array(msg.progress);
        const stats = newStats();
        for (let k = 0; k < msg.count; k++) {
          Atomics.store(progress, 0, k + 1);
          const index = msg.start + k;
          const input = generateInput(seeds, msg.seed, index);
          const r = await runOne(input, index, msg.limits, stats);
          if (r.failure) post({ type: "failure", failure: r.failure });
          // Outcomes so far, for the campaign to count if a later input hangs.
          Atomics.store(progress, 1, stats.ok);
          Atomics.store(progress, 2, stats.inputs - stats.ok - stats.failures);
          if ((k & 255) === 0) sampleHeap(stats);
        }
        sampleHeap(stats);
        post({ type: "done", stats });
        break;
      }
      case "replay": {
        const stats = newStats();
        const results = [];
        for (const input of msg.inputs) results.push(await runOne(input, -1, msg.limits, stats));
        post({ type: "replayed", results });
        break;
      }
    }
  } catch (e) {
    post({ type: "fatal", message: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
};
