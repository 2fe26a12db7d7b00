/**
 * The messages between the campaign (`campaign.ts`), the host process of
 * a target (`host.ts`) and the worker inside it (`worker.ts`), and their
 * framing on the host's stdin/stdout: a 32-bit length, then the message
 * serialised with `node:v8` (structured clone: typed arrays survive).
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import type { FuzzInput, Seed } from "./mutators.ts";

/** Bounds on what one input may allocate. */
export interface AllocationLimits {
  /** The largest allocation may be this many times the input length ... */
  allocFactor: number;
  /** ... plus this many bytes. */
  allocFixed: number;
  /** All allocations together may be this many times the input length ... */
  totalFactor: number;
  /** ... plus this many bytes. */
  totalFixed: number;
}

/** Kinds of failure. */
export type FailureKind = "crash" | "invariant" | "bad-error" | "alloc" | "leak" | "hang";

/** One failing input, as the worker reports it. */
export interface FailureReport {
  /** Index of the input in the campaign (-1 for replayed inputs). */
  index: number;
  /** What went wrong. */
  kind: FailureKind;
  /** One line (plus a stack for crashes). */
  message: string;
  /** The input. */
  input: FuzzInput;
}

/** Totals of one run. */
export interface RunStats {
  /** Inputs run. */
  inputs: number;
  /** Accepted. */
  ok: number;
  /** Rejected with a typed error, by error name. */
  rejected: Record<string, number>;
  /** Failures. */
  failures: number;
  /** Largest single allocation seen, bytes, and the input length it was for. */
  largestAlloc: { bytes: number; inputLength: number; what: string };
  /** Largest sum of one input's allocations, bytes, and that input's length. */
  largestTotal: { bytes: number; inputLength: number };
  /** Peak V8 heap of the worker, bytes. */
  peakHeap: number;
}

/** Messages to the worker. */
export type ToWorker =
  | { type: "init"; target: string; targetModule?: string; seeds: Seed[]; replay?: boolean }
  | {
    type: "run";
    seed: number;
    start: number;
    count: number;
    limits: AllocationLimits;
    progress: SharedArrayBuffer;
  }
  | { type: "replay"; inputs: FuzzInput[]; limits: AllocationLimits };

/** Messages from the worker. */
export type FromWorker =
  | { type: "ready"; seeds: string[] }
  | { type: "fatal"; message: string }
  | { type: "failure"; failure: FailureReport }
  | { type: "done"; stats: RunStats }
  | { type: "replayed"; results: { outcome: string; failure?: FailureReport }[] };

/** Messages from the host to the campaign (the worker's, plus the host's own). */
export type FromHost =
  | FromWorker
  | { type: "hang"; started: number; ok: number; rejected: number }
  | { type: "progress"; started: number; ok: number; rejected: number; rss: number }
  | { type: "worker-error"; message: string };

/** Messages from the campaign to the host (the worker's; `run` without its progress buffer). */
export type ToHost =
  | { type: "init"; timeoutMs: number; worker: ToWorker & { type: "init" } }
  | Omit<ToWorker & { type: "run" }, "progress">
  | ToWorker & { type: "replay" };

/**
 * One message as a frame.
 *
 * @example
 * ```ts
 * import { FrameReader, frame } from "./protocol.ts";
 * const bytes = frame({ type: "progress", started: 3 });
 * const r = new FrameReader(ReadableStream.from([bytes.subarray(0, 2), bytes.subarray(2)]));
 * console.assert(((await r.next()) as { started: number }).started === 3);
 * console.assert((await r.next()) === null);
 * ```
 */
export function frame(msg: unknown): Uint8Array {
  const body = serialize(msg);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 4);
  return out;
}

/** Reads frames from a byte stream. */
export class FrameReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = new Uint8Array(0);

  /** Reads frames from `stream`. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buf.length < n) {
      const { value, done } = await this.#reader.read();
      if (done) return false;
      const next = new Uint8Array(this.#buf.length + value.length);
      next.set(this.#buf);
      next.set(value, this.#buf.length);
      this.#buf = next;
    }
    return true;
  }

  /** The next message, or null at the end of the stream. */
  async next(): Promise<unknown | null> {
    if (!(await this.#fill(4))) return null;
    const n = new DataView(this.#buf.buffer, this.#buf.byteOffset, 4).getUint32(0, true);
    if (!(await this.#fill(4 + n))) return null;
    const msg = deserialize(this.#buf.subarray(4, 4 + n));
    this.#buf = this.#buf.slice(4 + n);
    return msg;
  }

  /** Stops reading. */
  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}
