/**
 * Helpers shared by the engine's correctness and fault tests: a simulator
 * session, stream capture, both verifiers, guest-state checks and
 * subprocess runs of the `xenmig` CLI.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Channel } from "../../lib/engine/transport.ts";
import type { ByteSink } from "../../lib/io/byte_sink.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import type { StreamFormat } from "../../lib/stream_parser.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { type HypervisorSession, openHypervisor } from "../../lib/xen/open.ts";
import type { SimControl } from "../../lib/xen/sim_control.ts";
import { runReference } from "../support/corpus/processes.ts";
import { xenReference } from "../support/xen_packages.ts";

/** The project root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
/** `cli/main.ts`. */
export const MAIN: string = `${ROOT}cli/main.ts`;

/** Opens the simulator with a spec's guest (the session destroys it on close). */
export async function simSession(spec = "mem=64M,vcpus=2"): Promise<
  HypervisorSession & { sim: SimControl; domid: number }
> {
  const s = await openHypervisor({ sim: spec });
  return s as HypervisorSession & { sim: SimControl; domid: number };
}

/** A channel whose sink also keeps a copy of every byte written. */
export function capture(channel: Channel): { channel: Channel; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  const sink: ByteSink = {
    write(b) {
      parts.push(b.slice());
      return channel.sink.write(b);
    },
    close: () => channel.sink.close(),
  };
  return {
    channel: { ...channel, sink },
    bytes() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}

/** Our verifier, plain and strict: both must accept `bytes`. */
export async function assertOurVerifierAccepts(
  bytes: Uint8Array,
  format: StreamFormat,
): Promise<void> {
  for (const strict of [false, true]) {
    const r = await verifyStream(bytesSource(bytes), { format, strict });
    assert.equal(
      r.exitCode,
      0,
      `verify-stream${strict ? " --strict" : ""} (${format}): ${r.error?.message}`,
    );
  }
}

const reference = await xenReference();
/** Why Xen's verifier cannot run here, if it cannot. */
export const NO_REFERENCE: string | undefined = typeof reference === "string"
  ? `Xen's verify-stream-v2 unavailable (${reference})`
  : undefined;

/**
 * Xen's Python `verify-stream-v2` on `bytes`; returns false (after saying
 * so on stdout) when the reference is unavailable, true when it accepted.
 */
export async function xenVerifierAccepts(
  bytes: Uint8Array,
  format: StreamFormat,
): Promise<boolean> {
  if (typeof reference === "string") {
    console.log(`SKIPPED: ${NO_REFERENCE}`);
    return false;
  }
  const path = await Deno.makeTempFile({ prefix: "xenmig-engine-", suffix: ".stream" });
  try {
    await Deno.writeFile(path, bytes);
    const r = await runReference(reference, ["-f", format, "-i", path]);
    assert.equal(r.code, 0, `Xen's verify-stream-v2 -f ${format} rejected it:\n${r.stderr}`);
    return true;
  } finally {
    await Deno.remove(path);
  }
}

/** Resolves once `pred()` holds, polling every 10 ms; rejects after `limitMs` naming `what`. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const end = performance.now() + limitMs;
  while (!(await pred())) {
    if (performance.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The source guest is left as it was found: unpaused (unless it was paused
 * before), no controller pause outstanding, log-dirty off, and its workload
 * writes memory again (the write generation advances).
 */
export async function assertGuestLeftRunning(
  s: HypervisorSession,
  domid: number,
  wasPaused = false,
): Promise<void> {
  const sim = s.sim!;
  const info = s.hv.domain(domid).info();
  const stats = sim.stats(domid);
  assert.equal(info.paused, wasPaused, `domain ${domid} paused: ${info.paused}`);
  assert.equal(stats.pauseCount, wasPaused ? 1 : 0, "controller pause count");
  assert.equal(stats.logDirty, false, "log-dirty mode still on");
  if (!wasPaused) {
    const g0 = stats.generation;
    await waitFor(() => sim.stats(domid).generation > g0, `guest ${domid} to write again`);
  }
}

/** What a CLI run did. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** stdout. */
  stdout: string;
  /** stderr lines that are not JSON progress events. */
  errors: string[];
  /** stderr JSON lines (progress events). */
  events: { event: string; phase: string; iteration: number; totalBytes: number; ms: number }[];
  /** The `{ok:false, ...}` report on stdout (`--json`), if any. */
  report?: {
    ok: boolean;
    phase: string;
    error: string;
    guest?: { domid: number; paused: boolean; logDirty: boolean; guestWrites?: boolean };
  };
}

/**
 * Spawns `xenmig ARGS`; `onEvent` sees each JSON progress line as it
 * arrives (e.g. to send a signal in a given phase).
 */
export function spawnCli(
  args: string[],
  onEvent?: (e: CliRun["events"][number], child: Deno.ChildProcess) => void,
  env?: Record<string, string>,
): { child: Deno.ChildProcess; done: Promise<CliRun> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const readAll = async (stream: ReadableStream<Uint8Array>, line?: (l: string) => void) => {
    let text = "";
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        line?.(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
    if (pending) line?.(pending);
    return text;
  };
  const events: CliRun["events"] = [];
  const errors: string[] = [];
  const done = (async () => {
    const [stdout] = await Promise.all([
      readAll(child.stdout),
      readAll(child.stderr, (l) => {
        if (l.startsWith("{")) {
          const e = JSON.parse(l);
          events.push(e);
          onEvent?.(e, child);
        } else if (l.trim()) {
          errors.push(l);
        }
      }),
    ]);
    const { code } = await child.status;
    const reportLine = stdout.split("\n").find((l) => l.startsWith('{"ok":false'));
    return {
      code,
      stdout,
      errors,
      events,
      report: reportLine ? JSON.parse(reportLine) : undefined,
    };
  })();
  return { child, done };
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Whether `pid` is a live process. */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
