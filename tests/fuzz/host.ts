/**
 * The host process of one fuzz target: `deno run -A host.ts`, driven by
 * the campaign over stdin/stdout (`protocol.ts` frames).  It runs the
 * target in a Worker (`worker.ts`) and watches the worker's progress
 * counter, shared memory the worker bumps before each input.  When the
 * counter stalls for the time limit, the host reports a hang — naming the
 * input — and exits, which ends the worker however it is stuck.
 *
 * Why a process: Deno cannot terminate a Worker that spins in a
 * synchronous loop (`terminate()` leaves the thread running), and a native
 * crash in an FFI call takes the whole process with it; the campaign can
 * always kill a process.
 *
 * @module
 */

import { frame, FrameReader, type FromHost, type FromWorker, type ToHost } from "./protocol.ts";

function send(msg: FromHost): void {
  const bytes = frame(msg);
  for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
}

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const progress = new SharedArrayBuffer(16);
const counter = new Int32Array(progress);
let timeoutMs = 5000;
let running = false;
let seen = 0;
let since = performance.now();
let reported = 0;

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  if (ev.data.type === "done" || ev.data.type === "replayed") running = false;
  send(ev.data);
};
worker.onerror = (ev) => {
  ev.preventDefault();
  send({ type: "worker-error", message: `${ev.message} (${ev.filename}:${ev.lineno})` });
  Deno.exit(1);
};

/** Where the run is: inputs started, and the outcomes of those finished. */
function position(): { started: number; ok: number; rejected: number } {
  return {
    started: Atomics.load(counter, 0),
    ok: Atomics.load(counter, 1),
    rejected: Atomics.load(counter, 2),
  };
}

setInterval(() => {
  if (!running) return;
  const now = Atomics.load(counter, 0);
  const t = performance.now();
  if (now !== seen) {
    seen = now;
    since = t;
  } else if (t - since > timeoutMs) {
    send({ type: "hang", ...position() });
    Deno.exit(0); // ends the worker, whatever it is doing
  }
  if (t - reported > 200) {
    reported = t;
    send({ type: "progress", ...position(), rss: Deno.memoryUsage().rss });
  }
}, 50);

const reader = new FrameReader(Deno.stdin.readable);
for (let msg = await reader.next(); msg !== null; msg = await reader.next()) {
  const m = msg as ToHost;
  if (m.type === "init") {
    timeoutMs = m.timeoutMs;
    worker.postMessage(m.worker);
    continue;
  }
  counter.fill(0);
  seen = 0;
  since = performance.now();
  running = true;
  worker.postMessage(m.type === "run" ? { ...m, progress } : m);
}
Deno.exit(0); // the campaign closed our stdin
