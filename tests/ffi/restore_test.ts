/**
 * Restore side on the simulator: create a domain, size it, populate it,
 * fill pages through a writable foreign mapping and load the HVM records —
 * the result must equal the source, stamp for stamp.
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  HVM_NR_PARAMS,
  HVM_SAVE_CODE,
  PROT_READ,
  PROT_WRITE,
  XEN_DOMCTL_PFINFO_XTAB,
} from "../../lib/xen/constants.ts";
import { XenError } from "../../lib/xen/errors.ts";
import { decodeHvmContext } from "../../lib/libxc/hvm_context.ts";
import { openSim, ramPfns } from "./_helpers.ts";

Deno.test("restore: a created domain receives memory and HVM state equal to the source", () => {
  using s = openSim();
  const src = s.sim.createDomain("mem=64M,vcpus=2");
  const dst = s.hv.createDomain({ maxVcpus: 2 });
  try {
    const source = s.hv.domain(src);
    s.sim.writePages(src, ramPfns(16384).filter((p) => p % 7 === 0));
    source.pause();

    // Source side: what the stream would carry.
    const maxGpfn = source.maxGpfn();
    const pfns: number[] = [];
    for (let at = 0; at <= maxGpfn; at += 1024) {
      const batch = Array.from({ length: Math.min(1024, maxGpfn + 1 - at) }, (_, i) => at + i);
      source.pfnTypes(batch).forEach((t, i) => t !== XEN_DOMCTL_PFINFO_XTAB && pfns.push(batch[i]));
    }
    strictEqual(pfns.length, source.info().totPages);
    const ctx = source.hvmContext();
    const records = decodeHvmContext(ctx);
    strictEqual(records.filter((r) => r.typecode === HVM_SAVE_CODE.CPU).length, 2);
    strictEqual(records.find((r) => r.typecode === HVM_SAVE_CODE.CPU)!.data.length, 1032);
    const params = Array.from({ length: HVM_NR_PARAMS }, (_, i) => source.hvmParam(i));
    const tsc = source.tscInfo();
    const policy = source.cpuPolicy();

    // Destination side, in libxc restore order.
    ok(dst.info().paused, "new domains start paused");
    dst.setMaxMem(pfns.length * 4);
    dst.setMaxVcpus(2);
    throws(
      () => dst.populatePhysmap([pfns.length * 1000, 0x7fffffff]),
      (e: unknown) => e instanceof XenError,
    );
    dst.populatePhysmap(pfns);
    throws(
      () => dst.populatePhysmap([0x100000]),
      (e: unknown) => e instanceof XenError && e.code === "ENOMEM",
    );
    strictEqual(dst.maxGpfn(), maxGpfn);
    for (let at = 0; at < pfns.length; at += 1024) {
      const batch = pfns.slice(at, at + 1024);
      using from = s.hv.foreignMemory.map(src, batch, PROT_READ);
      using to = s.hv.foreignMemory.map(dst.domid, batch, PROT_READ | PROT_WRITE);
      from.assertAllMapped();
      to.assertAllMapped();
      for (let i = 0; i < batch.length; i++) to.page(i).set(from.page(i));
    }
    dst.setHvmContext(ctx);
    params.forEach((v, i) => dst.setHvmParam(i, v));
    dst.setTscInfo({ ...tsc, incarnation: tsc.incarnation + 1 });
    dst.setCpuPolicy(policy);

    deepStrictEqual(s.sim.verifyDomain(dst.domid), { bad: 0 });
    for (const p of [0, 7, 0x103, 0x4059]) {
      strictEqual(s.sim.pageGeneration(dst.domid, p), s.sim.pageGeneration(src, p), `pfn ${p}`);
    }
    ok(s.sim.pageGeneration(dst.domid, 7) > 0);
    deepStrictEqual(dst.hvmContext(), ctx);
    deepStrictEqual(Array.from({ length: HVM_NR_PARAMS }, (_, i) => dst.hvmParam(i)), params);
    deepStrictEqual(dst.cpuPolicy(), policy);
    strictEqual(dst.tscInfo().incarnation, tsc.incarnation + 1);
    strictEqual(dst.tscInfo().gtscKhz, tsc.gtscKhz);
    deepStrictEqual(dst.info().totPages, source.info().totPages);
    dst.unpause();
    ok(dst.info().running);
  } finally {
    s.sim.destroyDomain(src);
    dst.destroy();
  }
  throws(() => dst.info(), (e: unknown) => e instanceof XenError && e.code === "ESRCH");
});
