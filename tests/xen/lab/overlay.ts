/**
 * The per-run overlay dom0 unpacks at boot: a snapshot of the project's
 * sources (at the same absolute path as on the host) and a DENO_DIR warmed
 * on the host, in one cpio file on the 9p share.
 *
 * One sequential read of one file instead of Deno touching hundreds of
 * files over 9p for every `xenmig` command (which, under TCG on a busy
 * host, took 40 s per command); and the run uses the tree as it was when
 * it started, whatever is edited meanwhile.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "./command.ts";
import { CpioArchive } from "./cpio.ts";
import { PROJECT_ROOT } from "./paths.ts";

/** Where dom0 finds its DENO_DIR after unpacking the overlay. */
export const DOM0_DENO_DIR = "/tmp/deno-dir";

/** Project files at the root that Deno (or xenmig) reads. */
const ROOT_FILES = ["deno.json", "deno.jsonc", "deno.lock", "package.json", "mod.ts"];

/** Directories whose sources dom0 needs: the product and the lab's dom0 side. */
const SOURCE_DIRS = ["cli", "lib", "native", "scripts", "tests/xen/common", "tests/xen/dom0"];

/** Entry points whose module graphs are cached into the DENO_DIR. */
const ENTRY_POINTS = ["tests/xen/dom0/agent.ts", "cli/main.ts", "lib/xen/mod.ts"];

const SOURCE_FILE = /\.(ts|js|mjs|json|jsonc|c|h)$/;

async function addSources(archive: CpioArchive, dir: string): Promise<number> {
  let files = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory && !e.name.startsWith(".") && e.name !== "build") {
      files += await addSources(archive, path);
    } else if (e.isFile && SOURCE_FILE.test(e.name)) {
      archive.addFile(path, { path });
      files++;
    }
  }
  return files;
}

async function addTree(archive: CpioArchive, hostDir: string, at: string): Promise<void> {
  for await (const e of Deno.readDir(hostDir)) {
    const host = join(hostDir, e.name);
    if (e.isDirectory) await addTree(archive, host, join(at, e.name));
    else if (e.isFile) archive.addFile(join(at, e.name), { path: host });
  }
}

/**
 * Warms a DENO_DIR for the entry points (remote and npm dependencies, if
 * any, and transpiled modules; valid in dom0 because the sources sit at
 * the same path there) and writes the overlay to `file`.  Returns how many
 * source files it holds.
 */
export async function writeOverlay(file: string, scratch: string): Promise<number> {
  const denoDir = join(scratch, "deno-dir");
  await runCommand(Deno.execPath(), [
    "cache",
    "--no-lock",
    ...ENTRY_POINTS.map((e) => join(PROJECT_ROOT, e)).filter((p) => existsSync(p)),
  ], { env: { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" }, cwd: PROJECT_ROOT });
  const archive = new CpioArchive();
  let files = 0;
  for (const name of ROOT_FILES) {
    const path = join(PROJECT_ROOT, name);
    if (existsSync(path)) {
      archive.addFile(path, { path });
      files++;
    }
  }
  for (const dir of SOURCE_DIRS) {
    const path = join(PROJECT_ROOT, dir);
    if (existsSync(path)) files += await addSources(archive, path);
  }
  await addTree(archive, denoDir, DOM0_DENO_DIR);
  await archive.writeTo(file);
  await Deno.remove(denoDir, { recursive: true });
  return files;
}
