/**
 * The xenstore binding (lib/xen/xenstore.ts) and the libxl layout of a
 * guest's entries (lib/xen/guest_xenstore.ts), on the simulator's store.
 */

import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  guestName,
  guestNames,
  removeGuestEntries,
  renameGuest,
  writeGuestEntries,
} from "../../lib/xen/guest_xenstore.ts";
import { openHypervisor } from "../../lib/xen/open.ts";
import { XenError } from "../../lib/xen/errors.ts";
import type { WatchEvent } from "../../lib/xen/xenstore.ts";
import {
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
} from "../../lib/xen/constants.ts";
import { SIM_PATH } from "./_helpers.ts";

Deno.test("xenstore: read, write, directory, rm; a missing node reads as undefined", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  equal(xs.read("/t1/none"), undefined);
  equal(xs.directory("/t1"), undefined);
  xs.write("/t1/a/b", "ä\u00ff value");
  equal(xs.read("/t1/a/b"), "ä\u00ff value");
  equal(xs.read("/t1/a"), "", "parents are created empty");
  xs.write("/t1/empty", "");
  equal(xs.read("/t1/empty"), "");
  xs.mkdir("/t1/dir");
  xs.mkdir("/t1/dir"); // exists: fine
  deepStrictEqual(xs.directory("/t1")?.sort(), ["a", "dir", "empty"]);
  equal(xs.rm("/t1/a"), true);
  equal(xs.read("/t1/a/b"), undefined, "children go with their parent");
  equal(xs.rm("/t1/a"), false);
  xs.rm("/t1");
});

Deno.test("xenstore: bad paths and a closed connection are XenErrors naming the call", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  throws(() => xs.write("relative/path", "x"), /not an absolute xenstore path/);
  throws(() => xs.read("/a\0b"), XenError);
  throws(
    () => xs.setPermissions("/nowhere", [{ id: 0, perms: 0 }]),
    /xs_set_permissions\(\/nowhere\): ENOENT/,
  );
  throws(() => xs.setPermissions("/", []), /no owner given/);
  s.hv.close();
  throws(() => s.hv.xenstore, /hypervisor is closed/);
  throws(() => xs.read("/x"), /xs_read\(\/x\): EBADF \(xenstore is closed\)/);
});

Deno.test("xenstore: a transaction commits its writes; a throw abandons it", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  equal(xs.transaction((t) => (xs.write("/t2/x", "1", t), 7)), 7);
  equal(xs.read("/t2/x"), "1");
  throws(() =>
    xs.transaction(() => {
      throw new Error("no");
    }), /no/);
  xs.rm("/t2");
});

Deno.test("the simulated guest is introduced as libxl would: name, rings, console, type", async () => {
  using s = await openHypervisor({ sim: "mem=64M,vcpus=2", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  const d = s.domid!;
  const dom = s.hv.domain(d);
  const path = xs.domainPath(d);
  equal(path, `/local/domain/${d}`);
  equal(xs.read(`${path}/name`), `sim${Deno.pid}-${d}`);
  equal(xs.read(`${path}/domid`), String(d));
  equal(xs.read(`/libxl/${d}/type`), "pvh");
  equal(xs.read(`${path}/control/shutdown`), "");
  equal(xs.read(`${path}/cpu/1/availability`), "online");
  equal(xs.read(`${path}/memory/target`), "65536");
  equal(xs.read(`${path}/store/ring-ref`), String(dom.hvmParam(HVM_PARAM_STORE_PFN)));
  equal(xs.read(`${path}/store/port`), String(dom.hvmParam(HVM_PARAM_STORE_EVTCHN)));
  equal(xs.read(`${path}/console/ring-ref`), String(dom.hvmParam(HVM_PARAM_CONSOLE_PFN)));
  equal(xs.read(`${path}/console/port`), String(dom.hvmParam(HVM_PARAM_CONSOLE_EVTCHN)));
  equal(xs.read(`${path}/console/type`), "xenconsoled");
  const vm = xs.read(`${path}/vm`)!;
  equal(xs.read(`${vm}/uuid`), dom.info().handle);
  ok(xs.isIntroduced(d));
});

Deno.test("rename refuses a taken name; destroy removes the entries and releases the domain", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  const other = s.hv.createDomain({ maxVcpus: 1 });
  writeGuestEntries(xs, other.domid, {
    name: "web",
    uuid: other.info().handle,
    type: "pvh",
    memKib: 65536,
    vcpus: 1,
  });
  throws(() => renameGuest(xs, s.domid!, "web"), /EEXIST \(domain \d+ is already called web\)/);
  renameGuest(xs, s.domid!, "web--migratedaway");
  equal(guestName(xs, s.domid!), "web--migratedaway");
  equal(guestNames(xs).get(other.domid), "web");
  const vm = xs.read(`/local/domain/${other.domid}/vm`)!;
  other.destroy();
  equal(xs.read(`/local/domain/${other.domid}`), undefined);
  equal(xs.read(`/libxl/${other.domid}`), undefined);
  equal(xs.read(vm), undefined);
  equal(guestNames(xs).has(other.domid), false);
  // Removing again is quiet.
  removeGuestEntries(xs, other.domid);
});

Deno.test("xenstore watches: fired once at once, then for changes at or below the path only", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  xs.watch("/tw/a", "tok");
  deepStrictEqual(await xs.watchEvents(0), [{ path: "/tw/a", token: "tok" }], "the initial event");
  deepStrictEqual(await xs.watchEvents(30), [], "nothing changed: none within the timeout");
  xs.write("/tw/b", "elsewhere");
  xs.write("/tw/a/deep", "1");
  xs.write("/tw/ab", "a sibling whose name only starts like it");
  xs.rm("/tw/a");
  deepStrictEqual(await xs.watchEvents(100), [
    { path: "/tw/a/deep", token: "tok" },
    { path: "/tw/a", token: "tok" },
  ]);
  xs.write("/tw/a", "queued, then dropped by unwatch");
  xs.unwatch("/tw/a", "tok");
  deepStrictEqual(await xs.watchEvents(0), []);
  xs.unwatch("/tw/a", "tok"); // quiet when gone
  xs.rm("/tw");
});

Deno.test("xenstore watches: a waiting watchEvents wakes when another writer changes the node", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  xs.watch("/tw2", "t");
  await xs.watchEvents(0);
  const t0 = performance.now();
  setTimeout(() => xs.write("/tw2/x", "1"), 50); // the event loop runs while it waits
  const got = await xs.watchEvents(5000);
  const waited = performance.now() - t0;
  deepStrictEqual(got, [{ path: "/tw2/x", token: "t" }]);
  ok(waited >= 40 && waited < 2000, `woke after ${waited.toFixed(0)} ms`);
  xs.unwatch("/tw2", "t");
  xs.rm("/tw2");
});

Deno.test("xenstore watches: @releaseDomain fires when a domain shuts down", async () => {
  using s = await openHypervisor({ sim: "mem=64M", simLibrary: SIM_PATH });
  const xs = s.hv.xenstore;
  xs.watch("@releaseDomain", "rel");
  deepStrictEqual(await xs.watchEvents(0), [{ path: "@releaseDomain", token: "rel" }]);
  s.sim!.setGuestAgent(s.domid!, true);
  xs.write(`/local/domain/${s.domid}/control/shutdown`, "suspend");
  const events: WatchEvent[] = [];
  for (let i = 0; i < 50 && !events.some((e) => e.path === "@releaseDomain"); i++) {
    events.push(...await xs.watchEvents(100));
  }
  ok(events.some((e) => e.path === "@releaseDomain"), JSON.stringify(events));
  ok(s.hv.domain(s.domid!).state().shutdown);
  xs.unwatch("@releaseDomain", "rel");
  throws(() => xs.watch("not/absolute", "x"), XenError);
});
