/**
 * Whether this machine can run the real-Xen lab: Debian's Xen 4.17 under
 * QEMU needs x86-64 Linux, root (apt-get, QEMU's 9p share), and QEMU or
 * apt-get to install it.  The test command and the lab benchmark ask.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";

/** Why the lab cannot run here, or `undefined` when it can (XENMIG_XEN_LAB=0 opts out). */
export function labUnavailable(): string | undefined {
  if (Deno.env.get("XENMIG_XEN_LAB") === "0") return "XENMIG_XEN_LAB=0";
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return "needs x86-64 Linux";
  if (Deno.uid() !== 0) return "needs root (apt-get, QEMU's 9p share)";
  const onPath = (cmd: string) =>
    (Deno.env.get("PATH") ?? "").split(":").some((d) => existsSync(join(d, cmd)));
  if (!onPath("qemu-system-x86_64") && !onPath("apt-get")) {
    return "neither qemu-system-x86_64 nor apt-get to install it";
  }
  for (const tool of ["apt-get", "dpkg", "gcc"]) {
    if (!onPath(tool)) return `no ${tool}`;
  }
  return undefined;
}
