/**
 * Compares the memory of two domains page by page: the proof that a
 * migration lost no write.  The source is compared as it is at the moment
 * of the call (after a migration: paused at stop-and-copy).
 *
 * @module
 */

import { PAGE_SIZE } from "../libxc/constants.ts";
import { PROT_READ } from "../xen/constants.ts";
import { dataPfnBatches } from "./data_pfns.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";

/** Outcome of {@linkcode compareMemory}. */
export interface MemoryComparison {
  /** Pages with data compared. */
  pages: number;
  /** Pages whose contents differ. */
  mismatches: number;
  /** First differing pfn. */
  firstMismatch?: number;
  /** pfns with data in the source but not backed in the destination. */
  missing: number;
}

/**
 * Compares every pfn with data in domain `a` against the same pfn in `b`.
 *
 * @example
 * ```ts
 * import { openHypervisor } from "../xen/open.ts";
 * import { compareMemory } from "./compare_memory.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const same = compareMemory(s.hv, s.domid!, s.domid!);
 * console.assert(same.mismatches === 0 && same.pages > 0);
 * ```
 */
export function compareMemory(hv: Hypervisor, a: number, b: number): MemoryComparison {
  const src = hv.domain(a);
  hv.domain(b); // throws for an unknown domain before any mapping
  const out: MemoryComparison = { pages: 0, mismatches: 0, missing: 0 };
  for (const pfns of dataPfnBatches(src)) {
    const ma = hv.foreignMemory.map(a, pfns, PROT_READ);
    const mb = hv.foreignMemory.map(b, pfns, PROT_READ);
    try {
      for (let i = 0; i < pfns.length; i++) {
        if (!mb.ok(i)) {
          out.missing++;
          out.firstMismatch ??= pfns[i];
          continue;
        }
        out.pages++;
        if (!samePage(ma.page(i), mb.page(i))) {
          out.mismatches++;
          out.firstMismatch ??= pfns[i];
        }
      }
    } finally {
      ma.release();
      mb.release();
    }
  }
  return out;
}

function samePage(x: Uint8Array, y: Uint8Array): boolean {
  // 32-bit words: a BigUint64Array read allocates a BigInt per element,
  // which made comparing a 64 MiB guest take a second.
  const a = new Int32Array(x.buffer, x.byteOffset, PAGE_SIZE / 4);
  const b = new Int32Array(y.buffer, y.byteOffset, PAGE_SIZE / 4);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
