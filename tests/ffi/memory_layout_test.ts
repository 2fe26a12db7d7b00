/** Simulated guests are laid out like HVM guests: VGA hole, MMIO hole below 4 GiB, special pages. */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  PROT_READ,
  XEN_DOMCTL_PFINFO_NOTAB,
  XEN_DOMCTL_PFINFO_XTAB,
} from "../../lib/xen/constants.ts";
import { openSim } from "./_helpers.ts";

Deno.test("memory layout: an 8 GiB guest has the VGA and PCI holes and memory above 4 GiB", () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=8G,rate=0");
  try {
    const dom = s.hv.domain(domid);
    const pages = 8 * 2 ** 30 / 4096;
    const low = 0xa0 + (0xf0000 - 0x100); // RAM below the 3.75 GiB MMIO hole
    strictEqual(dom.maxGpfn(), 0x100000 + (pages - low) - 1);
    strictEqual(dom.info().totPages, pages + 8);
    const probe = [
      0x9f,
      0xa0,
      0xff,
      0x100,
      0xeffff,
      0xf0000,
      0xfeff8,
      0xfffff,
      0x100000,
      dom.maxGpfn(),
    ];
    const X = XEN_DOMCTL_PFINFO_XTAB, N = XEN_DOMCTL_PFINFO_NOTAB;
    deepStrictEqual(Array.from(dom.pfnTypes(probe)), [N, X, X, N, N, X, N, X, N, N]);
    // Guest memory is sparse: writing the top page costs one page, not 8 GiB.
    s.sim.writePages(domid, [dom.maxGpfn()]);
    using m = s.hv.foreignMemory.map(domid, [dom.maxGpfn(), 0xf0000], PROT_READ);
    strictEqual(s.sim.verifyPage(m.page(0), dom.maxGpfn()), "stamped");
    deepStrictEqual(Array.from(m.errors), [0, 2]);
  } finally {
    s.sim.destroyDomain(domid);
  }
});
