/**
 * The pfns of a domain that hold data (not holes, XTAB, BROKEN or XALLOC),
 * in batches of up to 1024 — the unit every memory walk maps at once.
 *
 * @module
 */

import { MAX_BATCH_SIZE, pageTypeHasData } from "../libxc/constants.ts";
import type { Domain } from "../xen/domain.ts";

/**
 * Yields, batch by batch over `[0, maxGpfn]`, the pfns whose page type
 * carries data; batches with none are skipped.  It walks the whole physmap,
 * holes included, as libxc does: it is what checks a save's shortcut
 * through them (`P2mWalk`), so it must not take the same one.
 *
 * @example
 * ```ts
 * import { openHypervisor } from "../xen/open.ts";
 * import { dataPfnBatches } from "./data_pfns.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * let n = 0;
 * for (const pfns of dataPfnBatches(s.hv.domain(s.domid!))) n += pfns.length;
 * console.assert(n > 16000);
 * ```
 */
export function* dataPfnBatches(domain: Domain): Generator<number[]> {
  const p2m = domain.maxGpfn() + 1;
  const batch = new Float64Array(MAX_BATCH_SIZE);
  for (let first = 0; first < p2m; first += MAX_BATCH_SIZE) {
    const n = Math.min(MAX_BATCH_SIZE, p2m - first);
    for (let i = 0; i < n; i++) batch[i] = first + i;
    const types = domain.pfnTypes(batch.subarray(0, n));
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) if (pageTypeHasData(types[i] >>> 28)) pfns.push(first + i);
    if (pfns.length) yield pfns;
  }
}
