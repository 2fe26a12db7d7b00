/** Page stamps: the TS check and the simulator's C check agree, and both catch damage. */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { PROT_READ } from "../../lib/xen/constants.ts";
import { checkPageStamp, pageGeneration } from "../../lib/xen/page_stamp.ts";
import { openSim, ramPfns } from "./_helpers.ts";

Deno.test("page stamps: TS and C agree on written, zero and damaged pages", () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,rate=0");
  try {
    const pfns = ramPfns(300);
    s.sim.writePages(domid, pfns.filter((p) => p % 3 !== 0));
    s.sim.writePages(domid, [1, 1]); // later generations overwrite earlier ones
    using m = s.hv.foreignMemory.map(domid, pfns, PROT_READ);
    for (let i = 0; i < pfns.length; i++) {
      const page = m.page(i);
      const ts = checkPageStamp(page, pfns[i]);
      strictEqual(ts.status, pfns[i] % 3 ? "stamped" : "zero", `pfn ${pfns[i]}`);
      strictEqual(s.sim.verifyPage(page, pfns[i]), ts.status);
      strictEqual(pageGeneration(page), s.sim.pageGeneration(domid, pfns[i]));
    }
    strictEqual(pageGeneration(m.page(1)), s.sim.stats(domid).generation, "last write wins");

    const copy = m.page(2).slice();
    // Right page, wrong place: the pfn inside the stamp disagrees.
    deepStrictEqual(checkPageStamp(copy, 4).status, "corrupt");
    strictEqual(s.sim.verifyPage(copy, 4), "corrupt");
    // One flipped bit anywhere in the body.
    copy[3000] ^= 1;
    ok(checkPageStamp(copy, 2).status === "corrupt");
    strictEqual(s.sim.verifyPage(copy, 2), "corrupt");
    // A zero page with one stray byte.
    const zero = new Uint8Array(4096);
    zero[100] = 1;
    strictEqual(checkPageStamp(zero, 0).status, "corrupt");
    strictEqual(s.sim.verifyPage(zero, 0), "corrupt");
  } finally {
    s.sim.destroyDomain(domid);
  }
});
