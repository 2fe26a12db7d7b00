/**
 * Fetches Debian's Xen 4.17 packages (the reference tools, headers and real
 * libraries) into `.cache/debian/` with `apt-get download` + `dpkg -x`, so
 * tests and benchmarks can compare against the real thing without a system
 * install.  Nothing here is product code.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

/** Debian packages the reference needs, and what each is for. */
export const XEN_PACKAGES: readonly string[] = [
  "xen-utils-4.17", // verify-stream-v2, convert-legacy-stream, xen.migration
  "libxen-dev", // C headers: struct layouts and constants
  "libxenmisc4.17", // the real libxenctrl.so.4.17
  "libxenforeignmemory1",
  "libxencall1",
  "libxentoollog1",
  "libxentoolcore1",
  "libxendevicemodel1",
  "libxenevtchn1",
  "libxengnttab1",
  "libxenstore4",
  "libxenhypfs1",
];

/** Where the unpacked reference lives. */
export interface XenReference {
  /** Root of the `dpkg -x` tree. */
  root: string;
  /** `PYTHONPATH` for Xen's `xen.migration` package. */
  pythonPath: string;
  /** Xen's `verify-stream-v2` script. */
  verifyStreamV2: string;
  /** Xen's `convert-legacy-stream` script. */
  convertLegacyStream: string;
  /** `usr/include` of libxen-dev. */
  includeDir: string;
  /** Directory holding the real `libxenctrl.so.4.17` and friends. */
  libDir: string;
}

const PROJECT_ROOT = fromFileUrl(new URL("../../", import.meta.url));
const CACHE = join(PROJECT_ROOT, ".cache", "debian");
const ROOT = join(CACHE, "root");
const STAMP = join(CACHE, "complete");

function layout(): XenReference {
  const xen = join(ROOT, "usr/lib/xen-4.17");
  return {
    root: ROOT,
    pythonPath: join(xen, "lib/python"),
    verifyStreamV2: join(xen, "bin/verify-stream-v2"),
    convertLegacyStream: join(xen, "bin/convert-legacy-stream"),
    includeDir: join(ROOT, "usr/include"),
    libDir: join(ROOT, "usr/lib/x86_64-linux-gnu"),
  };
}

async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" })
      .output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
  } catch (e) {
    return { ok: false, err: e instanceof Error ? e.message : String(e) };
  }
}

let pending: Promise<XenReference | string> | undefined;

/**
 * Makes sure the reference packages are unpacked; returns their layout, or a
 * string saying why they cannot be had (no apt, no network) so callers can
 * skip visibly.
 */
export function xenReference(): Promise<XenReference | string> {
  pending ??= fetchOnce();
  return pending;
}

async function fetchOnce(): Promise<XenReference | string> {
  if (existsSync(STAMP)) return layout();
  const debs = join(CACHE, "debs");
  await Deno.mkdir(debs, { recursive: true });
  let dl = await run("apt-get", ["download", ...XEN_PACKAGES], debs);
  if (!dl.ok) {
    // A fresh machine may have no package lists yet.
    await run("apt-get", ["update"], debs);
    dl = await run("apt-get", ["download", ...XEN_PACKAGES], debs);
  }
  if (!dl.ok) return `apt-get download failed: ${dl.err.split("\n").pop()}`;
  for await (const entry of Deno.readDir(debs)) {
    if (!entry.name.endsWith(".deb")) continue;
    const x = await run("dpkg", ["-x", entry.name, ROOT], debs);
    if (!x.ok) return `dpkg -x ${entry.name} failed: ${x.err}`;
  }
  const ref = layout();
  if (!existsSync(ref.verifyStreamV2)) return "xen-utils-4.17 has no verify-stream-v2";
  await Deno.writeTextFile(STAMP, new Date().toISOString() + "\n");
  return ref;
}
