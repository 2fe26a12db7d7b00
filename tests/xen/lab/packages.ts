/**
 * The Debian bookworm packages the lab is built from, fetched with
 * `apt-get download` into `.cache/xen-lab/debs` and unpacked with
 * `dpkg -x` (nothing is installed into the system).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { runCommand } from "./command.ts";
import { DEB_DIR, UNPACK_DIR } from "./paths.ts";

/** Xen 4.17: hypervisor, toolstack, libraries, and what they load. */
export const XEN_PACKAGES: readonly string[] = [
  "xen-hypervisor-4.17-amd64",
  "xen-utils-4.17",
  "xen-utils-common",
  "xenstore-utils",
  "libxenmisc4.17",
  "libxencall1",
  "libxenforeignmemory1",
  "libxenevtchn1",
  "libxengnttab1",
  "libxendevicemodel1",
  "libxentoolcore1",
  "libxentoollog1",
  "libxenstore4",
  "libxenhypfs1",
  "libyajl2",
];

/** The metapackage whose dependency names the kernel package. */
const KERNEL_METAPACKAGE = "linux-image-amd64";

/** The unpacked inputs of an image build. */
export interface DebianInputs {
  /** File names of every `.deb` used, sorted (part of the image hash). */
  debs: string[];
  /** Merged `dpkg -x` tree of {@linkcode XEN_PACKAGES}. */
  xenRoot: string;
  /** `dpkg -x` tree of the kernel package. */
  kernelRoot: string;
  /** Kernel release, e.g. `6.1.0-56-amd64`. */
  kernelRelease: string;
  /** Path of the static busybox binary. */
  busybox: string;
}

async function aptCache(args: string[]): Promise<string> {
  return (await runCommand("apt-cache", args, { allowFailure: true })).stdout;
}

/** The versioned kernel package `linux-image-amd64` depends on. */
async function kernelPackage(): Promise<string> {
  const find = async () =>
    (await aptCache(["depends", KERNEL_METAPACKAGE])).match(
      /Depends: (linux-image-[0-9][^\s]*)/,
    )?.[1];
  let name = await find();
  if (!name) {
    await runCommand("apt-get", ["update"], { allowFailure: true });
    name = await find();
  }
  if (!name) throw new Error(`apt-cache knows no ${KERNEL_METAPACKAGE} (no Debian sources?)`);
  return name;
}

function debFor(pkg: string, names: string[]): string | undefined {
  return names.find((n) => n.startsWith(`${pkg}_`) && n.endsWith(".deb"));
}

async function listDebs(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(DEB_DIR)) if (e.isFile) names.push(e.name);
  return names.sort();
}

/** Downloads every package not already in the deb cache; returns pkg → deb file name. */
async function fetchDebs(packages: string[]): Promise<Map<string, string>> {
  await Deno.mkdir(DEB_DIR, { recursive: true });
  let have = await listDebs();
  const missing = packages.filter((p) => !debFor(p, have));
  if (missing.length) {
    const download = () =>
      runCommand("apt-get", ["download", ...missing], { cwd: DEB_DIR, allowFailure: true });
    let r = await download();
    if (r.code !== 0) {
      await runCommand("apt-get", ["update"], { allowFailure: true });
      r = await download();
    }
    if (r.code !== 0) {
      throw new Error(`apt-get download ${missing.join(" ")} failed:\n${r.stderr.trim()}`);
    }
    have = await listDebs();
  }
  const out = new Map<string, string>();
  for (const p of packages) {
    const deb = debFor(p, have);
    if (!deb) throw new Error(`apt-get download left no ${p}_*.deb in ${DEB_DIR}`);
    out.set(p, deb);
  }
  return out;
}

/** `dpkg -x` of `debs` into one tree named after them; reused when complete. */
async function unpack(debs: string[], label: string): Promise<string> {
  const id = createHash("sha256").update(debs.join("\n")).digest("hex").slice(0, 16);
  const dir = join(UNPACK_DIR, `${label}-${id}`);
  const stamp = join(dir, ".complete");
  if (existsSync(stamp)) return dir;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  for (const deb of debs) await runCommand("dpkg", ["-x", join(DEB_DIR, deb), dir]);
  await Deno.writeTextFile(stamp, debs.join("\n") + "\n");
  return dir;
}

/**
 * Fetches and unpacks the Xen, kernel and busybox packages.  Runs
 * `apt-get update` once if the package lists are missing or stale.
 */
export async function prepareDebianInputs(): Promise<DebianInputs> {
  const kernel = await kernelPackage();
  const debs = await fetchDebs([...XEN_PACKAGES, kernel, "busybox-static"]);
  const xenDebs = XEN_PACKAGES.map((p) => debs.get(p)!);
  const xenRoot = await unpack(xenDebs, "xen");
  const kernelRoot = await unpack([debs.get(kernel)!], "kernel");
  const busyboxRoot = await unpack([debs.get("busybox-static")!], "busybox");
  const releases: string[] = [];
  for await (const e of Deno.readDir(join(kernelRoot, "lib", "modules"))) releases.push(e.name);
  if (releases.length !== 1) {
    throw new Error(`${basename(kernelRoot)}: expected one kernel release, found ${releases}`);
  }
  return {
    debs: [...debs.values()].sort(),
    xenRoot,
    kernelRoot,
    kernelRelease: releases[0],
    busybox: join(busyboxRoot, "bin", "busybox"),
  };
}
