/**
 * Running the two verifiers as processes: xenmig's drop-in script and Xen's
 * `verify-stream-v2`, on a file or on a pipe fed in small delayed writes,
 * plus a bounded-concurrency map so ~150 items run in a few seconds on two
 * cores.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { XenReference } from "../xen_packages.ts";

/** The project root. */
export const ROOT: string = fileURLToPath(new URL("../../../", import.meta.url));
/** xenmig's drop-in `verify-stream-v2`. */
export const OUR_SCRIPT: string = `${ROOT}scripts/verify-stream-v2.ts`;
/** The `xenmig` command. */
export const XENMIG_MAIN: string = `${ROOT}cli/main.ts`;

/** What a process did. */
export interface ProcessResult {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** How to feed standard input: as chunks with a pause between, optionally holding back the rest at one offset. */
export interface PipeInput {
  /** The bytes to send. */
  bytes: Uint8Array;
  /** Bytes per write. */
  chunk: number;
  /** Milliseconds between writes. */
  pauseMs: number;
  /**
   * Offset at which to stop for `holdMs` before writing the rest.  Past the
   * pipe's buffer size, the reader has caught up with the writer by then,
   * so a read that spans this offset comes back short.
   */
  holdAt?: number;
  /** Milliseconds to hold at `holdAt`. */
  holdMs?: number;
}

const decoder = new TextDecoder();

/** Runs `cmd args`, optionally feeding `input` on stdin through a pipe. */
export async function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: PipeInput; cwd?: string } = {},
): Promise<ProcessResult> {
  const child = new Deno.Command(cmd, {
    args,
    env: opts.env,
    cwd: opts.cwd ?? ROOT,
    stdin: opts.input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.input) {
    const { bytes, chunk, pauseMs, holdAt = -1, holdMs = 0 } = opts.input;
    const writer = child.stdin.getWriter();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      for (let at = 0; at < bytes.length;) {
        const end = at < holdAt ? Math.min(at + chunk, holdAt) : at + chunk;
        await writer.write(bytes.subarray(at, end));
        at = end;
        if (at === holdAt) await sleep(holdMs);
        else if (pauseMs) await sleep(pauseMs);
      }
      await writer.close();
    } catch {
      // The reader exited early (e.g. it reported an error): nothing to feed.
      await writer.abort().catch(() => {});
    }
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs xenmig's `scripts/verify-stream-v2.ts` with `args`. */
export function runOurs(args: string[], input?: PipeInput): Promise<ProcessResult> {
  return runProcess(Deno.execPath(), ["run", "-A", OUR_SCRIPT, ...args], { input });
}

/** Runs Xen's `verify-stream-v2` with `args`. */
export function runReference(
  ref: XenReference,
  args: string[],
  input?: PipeInput,
): Promise<ProcessResult> {
  return runProcess("python3", [ref.verifyStreamV2, ...args], {
    env: { PYTHONPATH: ref.pythonPath },
    input,
  });
}

/**
 * The message of the exception a Python traceback ends with: for
 * `xen.migration.verify.StreamError: Bad image marker: ...` it is
 * `Bad image marker: ...`; `undefined` when stderr holds no traceback.
 */
export function pythonExceptionMessage(stderr: string): string | undefined {
  const lines = stderr.split("\n").filter((l) =>
    /^[A-Za-z_][\w.]*(Error|Warning|Exception): /.test(l)
  );
  const last = lines.at(-1);
  return last?.slice(last.indexOf(": ") + 2);
}

/** `Stream Error` or `Script Error`: the category Xen's script prints first. */
export function pythonErrorKind(stderr: string): string | undefined {
  return stderr.match(/^(Stream|Script) Error:/m)?.[0];
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Splits process output into lines, without the empty string after a final newline. */
export function lines(text: string): string[] {
  if (text === "") return [];
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  return all;
}
