/**
 * Running xenmig's commands as subprocesses for the output-safety and
 * signal tests: in a scratch directory, so "no file left behind" is a
 * directory listing.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
/** The `xenmig` entry point. */
export const XENMIG: string = `${ROOT}cli/main.ts`;
/** The drop-in `convert-legacy-stream`. */
export const CONVERT_SCRIPT: string = `${ROOT}scripts/convert-legacy-stream.ts`;
/** The drop-in `verify-stream-v2`. */
export const VERIFY_SCRIPT: string = `${ROOT}scripts/verify-stream-v2.ts`;

/** How a command ended. */
export interface Ended {
  /** Exit code (128 + n when killed by signal n). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs `deno run -A script ...args` in `cwd` to completion. */
export async function runScript(script: string, args: string[], cwd: string): Promise<Ended> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The names in `dir`, hidden ones (temporary files) included, sorted. */
export function listDir(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** A scratch directory, removed (with anything left in it) by `using`. */
export function scratchDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "xenmig-output-" });
  return {
    path,
    [Symbol.dispose]() {
      Deno.removeSync(path, { recursive: true });
    },
  };
}

/** Polls `cond` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
