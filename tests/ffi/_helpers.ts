/**
 * Shared test support: the simulator (built once), polling without timed
 * assertions, and the Debian reference packages.
 *
 * @module
 */

import { buildSimulator } from "../../native/build.ts";
import { Hypervisor } from "../../lib/xen/hypervisor.ts";
import { SimControl } from "../../lib/xen/sim_control.ts";

/** Path of the built simulator. */
export const SIM_PATH: string = await buildSimulator();

/** A hypervisor and controls on the simulator; `using` closes both. */
export function openSim(): { hv: Hypervisor; sim: SimControl } & Disposable {
  const hv = Hypervisor.open({ backend: "sim", library: SIM_PATH });
  const sim = SimControl.open(SIM_PATH);
  return {
    hv,
    sim,
    [Symbol.dispose]() {
      hv.close();
      sim.close();
    },
  };
}

/** Resolves after `ms` milliseconds (lets simulated guests run). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` until true; fails naming `what` after a generous
 * bound.  The bound is a hang guard, not a performance assertion.
 */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * RAM pfns of a simulated guest below 3.75 GiB: everything but the VGA
 * hole 0xa0-0xff (the simulator lays memory out like an HVM guest).
 */
export function ramPfns(ramPages: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < 0xa0 && out.length < ramPages; p++) out.push(p);
  for (let p = 0x100; out.length < ramPages; p++) out.push(p);
  return out;
}

/** Pfns set in a dirty bitmap. */
export function bitmapPfns(bitmap: Uint8Array, pages: number): Set<number> {
  const out = new Set<number>();
  for (let byte = 0; byte < bitmap.length; byte++) {
    const v = bitmap[byte];
    if (v === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      const pfn = byte * 8 + bit;
      if (v & (1 << bit) && pfn < pages) out.add(pfn);
    }
  }
  return out;
}

/** What the FFI tests need from the Debian reference. */
export interface FfiReference {
  /** `usr/include` of libxen-dev. */
  includeDir: string;
  /** Directory of libxenctrl.so.4.17 and its dependencies. */
  libDir: string;
}

let pending: Promise<FfiReference | string> | undefined;

/**
 * Debian's libxen-dev 4.17 headers and real libraries (via
 * `tests/support/xen_packages.ts`), or why they are unavailable; callers
 * then ignore their tests visibly, printing the reason.
 */
export function reference(): Promise<FfiReference | string> {
  pending ??= (async () => {
    try {
      const mod = await import("../support/xen_packages.ts");
      return await mod.xenReference();
    } catch (e) {
      return `tests/support/xen_packages.ts failed: ${e instanceof Error ? e.message : e}`;
    }
  })();
  return pending;
}
