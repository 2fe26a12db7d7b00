/** Failures become XenErrors naming the call, subject and errno — never a crash. */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  HVM_NR_PARAMS,
  HVM_PARAM_STORE_PFN,
  PROT_READ,
  XEN_DOMCTL_PFINFO_NOTAB,
  XEN_DOMCTL_PFINFO_XTAB,
} from "../../lib/xen/constants.ts";
import { XenError } from "../../lib/xen/errors.ts";
import { bitmapBytes } from "../../lib/xen/log_dirty.ts";
import { openSim } from "./_helpers.ts";

function xenError(call: string, code: string, message?: RegExp) {
  return (e: unknown) => {
    ok(e instanceof XenError, `not a XenError: ${e}`);
    strictEqual(e.call, call);
    strictEqual(e.code, code);
    if (message) ok(message.test(e.message), e.message);
    return true;
  };
}

Deno.test("errors: bad domid names the call, domid and errno", () => {
  using s = openSim();
  throws(() => s.hv.domain(777), xenError("xc_domain_getinfolist", "ESRCH"));
  const domid = s.sim.createDomain("mem=64M");
  const dom = s.hv.domain(domid);
  s.sim.destroyDomain(domid);
  throws(
    () => dom.pause(),
    (e: unknown) =>
      e instanceof XenError &&
      e.message === `xc_domain_pause(domid ${domid}): ESRCH (No such process)`,
  );
  throws(() => dom.hvmContext(), xenError("xc_domain_hvm_getcontext", "ESRCH"));
  throws(() => dom.logDirty.enable(), xenError("xc_logdirty_control", "ESRCH"));
  throws(() => s.hv.foreignMemory.map(domid, [0]), xenError("xenforeignmemory_map", "ESRCH"));
  throws(() => s.hv.domain(70000), RangeError);
});

Deno.test("errors: pfns beyond max and holes fail per page, are counted, and throw clearly", () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M");
  try {
    const dom = s.hv.domain(domid);
    const max = dom.maxGpfn();
    strictEqual(max, 0xfefff, "special pages sit just below the 4 GiB MMIO hole");
    const m = s.hv.foreignMemory.map(domid, [0, 0xa0, max + 1, 0x200000, 0x4000], PROT_READ);
    deepStrictEqual(Array.from(m.errors), [0, 2, 22, 22, 0]);
    strictEqual(m.failed, 3);
    throws(() => m.page(1), xenError("xenforeignmemory_map", "ENOENT", /pfn 0xa0\)/));
    throws(
      () => m.page(2),
      xenError("xenforeignmemory_map", "EINVAL", /\(domid \d+, pfn 0xff000\): EINVAL/),
    );
    throws(() => m.assertAllMapped(), xenError("xenforeignmemory_map", "ENOENT"));
    throws(() => m.page(5), RangeError);
    const st = s.sim.stats(domid);
    strictEqual(st.outOfRange, 2, "out-of-range attempts recorded");
    strictEqual(st.holeAccess, 1);
    deepStrictEqual(
      Array.from(dom.pfnTypes([0, 0xa0, max + 5])),
      [XEN_DOMCTL_PFINFO_NOTAB, XEN_DOMCTL_PFINFO_XTAB, XEN_DOMCTL_PFINFO_XTAB],
    );
    strictEqual(s.sim.stats(domid).outOfRange, 3);

    // Views die with the mapping; a second unmap is an error, not a double munmap.
    const view = m.page(0);
    m.unmap();
    strictEqual(view.length, 0, "stale view is detached");
    throws(() => m.unmap(), xenError("xenforeignmemory_unmap", "EINVAL", /already unmapped/));
    throws(() => m.page(0), xenError("xenforeignmemory_map", "EBADF", /unmapped/));
    strictEqual(s.sim.globalStats().mappingsLive, 0);
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("errors: misuse reported by Xen-like checks", () => {
  using s = openSim();
  const domid = s.sim.createDomain("mem=64M,vcpus=2");
  try {
    const dom = s.hv.domain(domid);
    const bitmap = new Uint8Array(bitmapBytes(1024));
    throws(() => dom.logDirty.clean(bitmap, 1024), xenError("xc_logdirty_control", "EINVAL"));
    dom.logDirty.enable();
    throws(
      () => dom.logDirty.enable(),
      (e: unknown) => e instanceof XenError && e.detail!.includes("already"),
    );
    throws(() => dom.logDirty.clean(bitmap, 1025), /holds fewer than 1025 pages/);
    dom.logDirty.off();
    throws(() => dom.unpause(), xenError("xc_domain_unpause", "EINVAL"));
    throws(() => dom.hvmParam(HVM_NR_PARAMS), xenError("xc_hvm_param_get", "EINVAL", /param 39/));
    throws(() => dom.vcpuInfo(2), xenError("xc_vcpu_getinfo", "EINVAL", /vcpu 2/));
    throws(
      () => dom.setHvmContext(new Uint8Array(64)),
      xenError("xc_domain_hvm_setcontext", "EINVAL"),
    );
    const policy = dom.cpuPolicy();
    throws(
      () => dom.setCpuPolicy({ leaves: policy.leaves, msrs: [{ idx: 0xce, flags: 1, val: 0n }] }),
      xenError("xc_set_domain_cpu_policy", "EINVAL", /rejected MSR 0xce/),
    );
    strictEqual(dom.hvmParam(HVM_PARAM_STORE_PFN), 0xfeffan);
  } finally {
    s.sim.destroyDomain(domid);
  }
});

Deno.test("errors: every call after close is a XenError (EBADF), never a crash", () => {
  const s = openSim();
  const domid = s.sim.createDomain("mem=64M");
  const dom = s.hv.domain(domid);
  const m = s.hv.foreignMemory.map(domid, [0]);
  const view = m.page(0);
  s.hv.close();
  s.hv.close(); // idempotent
  ok(s.hv.closed);
  strictEqual(view.length, 0, "close() unmapped and detached live mappings");
  ok(!m.mapped);
  throws(() => dom.info(), xenError("xc_domain_getinfolist", "EBADF", /closed/));
  throws(() => dom.pause(), xenError("xc_domain_pause", "EBADF"));
  throws(() => dom.logDirty.enable(), xenError("xc_logdirty_control", "EBADF"));
  throws(() => s.hv.foreignMemory.map(domid, [0]), xenError("xenforeignmemory_map", "EBADF"));
  throws(() => s.hv.createDomain({ maxVcpus: 1 }), xenError("xc_domain_create", "EBADF"));
  strictEqual(s.sim.globalStats().mappingsLive, 0);
  s.sim.destroyDomain(domid);
  s.sim.close();
  throws(
    () => s.sim.stats(domid),
    (e: unknown) => e instanceof XenError && /closed/.test(e.message),
  );
});
