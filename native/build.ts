/**
 * Builds the libxenctrl simulator, `native/build/libxenctrl-sim.so`, with
 * `cc` alone.  Incremental: nothing is compiled when the library is newer
 * than every input (the C sources and the TS ABI tables the C header is
 * generated from).  Safe to call from concurrent processes: the library is
 * written to a temporary name and renamed into place.
 *
 * Run as `deno task build:sim`.
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { simulatorAbiHeader } from "./abi_gen.ts";

const NATIVE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(NATIVE);
const SIM_SRC = join(NATIVE, "sim");
const BUILD = join(NATIVE, "build");
const GEN = join(BUILD, "gen");

/**
 * Where the simulator library is built.
 *
 * @example
 * ```ts
 * import { SIMULATOR_PATH } from "./build.ts";
 * console.log(SIMULATOR_PATH.endsWith("native/build/libxenctrl-sim.so")); // true
 * ```
 */
export const SIMULATOR_PATH: string = join(BUILD, "libxenctrl-sim.so");

/** Options of {@linkcode buildSimulator}. */
export interface BuildOptions {
  /** Rebuild even when up to date. */
  force?: boolean;
  /** Print what is done (default: only when run as a task). */
  verbose?: boolean;
}

function mtime(path: string): number {
  return statSync(path).mtimeMs;
}

function listSources(): { c: string[]; inputs: string[] } {
  const c: string[] = [];
  const inputs: string[] = [];
  for (const entry of Deno.readDirSync(SIM_SRC)) {
    const path = join(SIM_SRC, entry.name);
    if (entry.name.endsWith(".c")) c.push(path);
    if (entry.name.endsWith(".c") || entry.name.endsWith(".h")) inputs.push(path);
  }
  c.sort();
  // The generated header depends on these.
  inputs.push(
    join(ROOT, "lib/xen/layout.ts"),
    join(ROOT, "lib/xen/constants.ts"),
    join(NATIVE, "abi_gen.ts"),
    fileURLToPath(import.meta.url),
  );
  return { c, inputs };
}

function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && Deno.readTextFileSync(path) === text) return;
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, text);
  Deno.renameSync(tmp, path);
}

let pending: Promise<string> | undefined;

/**
 * Inside a `deno compile`d xenmig the sources are not on disk for `cc`; the
 * compile task embeds the built library instead (`--include`), and it is
 * copied out to the user's cache to be `dlopen`ed.
 */
const COMPILED = import.meta.url.includes("/deno-compile-");

async function extractEmbedded(): Promise<string> {
  const bytes = await Deno.readFile(SIMULATOR_PATH);
  const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).slice(0, 8))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const cache = join(
    Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache"),
    "xenmig",
  );
  const out = join(cache, `libxenctrl-sim-${hash}.so`);
  if (!existsSync(out)) {
    Deno.mkdirSync(cache, { recursive: true });
    const tmp = `${out}.${Deno.pid}.tmp`;
    await Deno.writeFile(tmp, bytes, { mode: 0o755 });
    Deno.renameSync(tmp, out);
  }
  return out;
}

/**
 * Builds the simulator if any input is newer than the library and returns
 * the library's path.  Concurrent calls in one process share one build.
 *
 * @example Build (a no-op when up to date) and open the simulator
 * ```ts
 * import { buildSimulator } from "./build.ts";
 * const path = await buildSimulator();
 * const lib = Deno.dlopen(path, { xsim_reset: { parameters: [], result: "void" } });
 * lib.close();
 * ```
 */
export function buildSimulator(options: BuildOptions = {}): Promise<string> {
  if (COMPILED) return extractEmbedded();
  if (options.force) return build(options);
  pending ??= build(options).finally(() => (pending = undefined));
  return pending;
}

async function build(options: BuildOptions): Promise<string> {
  const { c, inputs } = listSources();
  const newest = Math.max(...inputs.map(mtime));
  if (!options.force && existsSync(SIMULATOR_PATH) && mtime(SIMULATOR_PATH) >= newest) {
    if (options.verbose) console.log(`up to date: ${SIMULATOR_PATH}`);
    return SIMULATOR_PATH;
  }
  Deno.mkdirSync(GEN, { recursive: true });
  writeIfChanged(join(GEN, "xsim_abi.h"), simulatorAbiHeader());
  const tmp = `${SIMULATOR_PATH}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const args = [
    "-std=gnu11",
    "-O2",
    "-g",
    "-fPIC",
    "-shared",
    "-pthread",
    "-fvisibility=hidden", // export only libxenctrl's names and xsim_*
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    `-I${SIM_SRC}`,
    `-I${GEN}`,
    "-o",
    tmp,
    ...c,
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("cc", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`cannot run cc to build the simulator: ${e instanceof Error ? e.message : e}`);
  }
  const diagnostics = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    try {
      Deno.removeSync(tmp);
    } catch { /* cc may not have created it */ }
    throw new Error(`cc failed building ${SIMULATOR_PATH}:\n${diagnostics}`);
  }
  if (diagnostics) console.error(diagnostics);
  Deno.renameSync(tmp, SIMULATOR_PATH);
  if (options.verbose) console.log(`built ${SIMULATOR_PATH}`);
  return SIMULATOR_PATH;
}

if (import.meta.main) {
  await buildSimulator({ force: Deno.args.includes("--force"), verbose: true });
}
