/**
 * The simulator's libxenstore, event channel, grant seeding, shutdown/resume
 * and guest-agent C ABI, exercised with Deno.dlopen alone (the bindings'
 * signature tables, none of their code).
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { SIM_SYMBOLS } from "../../lib/xen/sim_control.ts";
import {
  LIBC_SYMBOLS,
  XENCTRL_SYMBOLS,
  XENGUEST_SYMBOLS,
  XENSTORE_SYMBOLS,
} from "../../lib/xen/symbols.ts";
import { SIM_PATH, sleep, waitFor } from "./_helpers.ts";

const ENOENT = 2, ESRCH = 3, EINVAL = 22, ENOSPC = 28;
const XEN_DOMINF_shutdown = 1 << 2, XEN_DOMINF_paused = 1 << 3, XEN_DOMINF_running = 1 << 5;

// The bindings' own signatures (one table, so the simulator is held to the
// ABI lib/xen calls), plus the one control call the bindings do not use.
const X = XENCTRL_SYMBOLS, G = XENGUEST_SYMBOLS, C = SIM_SYMBOLS;
const SYMBOLS = {
  ...XENSTORE_SYMBOLS,
  xc_interface_open: X.xc_interface_open,
  xc_interface_close: X.xc_interface_close,
  xc_evtchn_alloc_unbound: X.xc_evtchn_alloc_unbound,
  xc_domain_pause: X.xc_domain_pause,
  xc_domain_unpause: X.xc_domain_unpause,
  xc_domain_getinfolist: X.xc_domain_getinfolist,
  xc_dom_gnttab_seed: G.xc_dom_gnttab_seed,
  xc_domain_resume: G.xc_domain_resume,
  xsim_domain_create: C.xsim_domain_create,
  xsim_destroy_domain: C.xsim_destroy_domain,
  xsim_domain_stats: C.xsim_domain_stats,
  xsim_global_stats: C.xsim_global_stats,
  xsim_set_guest_agent: C.xsim_set_guest_agent,
  // int32 xsim_shutdown_domain(u32 domid, u32 reason): 0 or -errno
  xsim_shutdown_domain: { parameters: ["u32", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const lib = Deno.dlopen(SIM_PATH, SYMBOLS);
const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
const s = lib.symbols;
const enc = new TextEncoder();
const dec = new TextDecoder();

function errno(): number {
  return new Deno.UnsafePointerView(libc.symbols.__errno_location()!).getInt32();
}
function cstr(text: string): Uint8Array<ArrayBuffer> {
  return enc.encode(text + "\0");
}
function read(xs: Deno.PointerValue, path: string): string | number {
  const len = new Uint32Array(1);
  const p = s.xs_read(xs, 0, cstr(path), len);
  if (!p) return errno();
  const text = dec.decode(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len[0])));
  strictEqual(new Deno.UnsafePointerView(p).getUint8(len[0]), 0, "value NUL-terminated");
  libc.symbols.free(p);
  return text;
}
function write(xs: Deno.PointerValue, path: string, value: string): boolean {
  const v = enc.encode(value);
  return s.xs_write(xs, 0, cstr(path), v, v.length);
}
function directory(xs: Deno.PointerValue, path: string): string[] | number {
  const num = new Uint32Array(1);
  const p = s.xs_directory(xs, 0, cstr(path), num);
  if (!p) return errno();
  const view = new Deno.UnsafePointerView(p);
  const out = [];
  for (let i = 0; i < num[0]; i++) {
    out.push(
      Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(view.getBigUint64(i * 8))!),
    );
  }
  libc.symbols.free(p); // one block
  return out;
}
/** flags of one domain (xen_domctl_getdomaininfo is 112 bytes, flags at 4). */
function flags(domid: number): number {
  const xch = s.xc_interface_open(null, null, 0);
  const info = new Uint8Array(112);
  strictEqual(s.xc_domain_getinfolist(xch, domid, 1, info), 1);
  s.xc_interface_close(xch);
  const v = new DataView(info.buffer);
  strictEqual(v.getUint16(0, true), domid);
  return v.getUint32(4, true);
}
function stats(domid: number): bigint[] {
  const v = new BigUint64Array(32);
  const n = s.xsim_domain_stats(domid, v, v.length);
  ok(n >= 30, `${n} stats`);
  return Array.from(v.slice(0, n));
}
function create(rate = 20000): number {
  const id = s.xsim_domain_create(64n << 20n, 2, 0, rate, 0, 0, 0, 0);
  ok(id > 0, `create: ${id}`);
  return id;
}

Deno.test("xenstore: nodes, parents, directory, rm, permissions, path checks", () => {
  const xs = s.xs_open(0n);
  ok(xs);
  const base = `/xsim-smoke/${Deno.pid}`;
  ok(write(xs, `${base}/a/b`, "hello"));
  strictEqual(read(xs, `${base}/a/b`), "hello");
  strictEqual(read(xs, `${base}/a`), "", "parent created with an empty value");
  strictEqual(read(xs, `${base}/nope`), ENOENT);
  ok(write(xs, `${base}/a/bin`, "x\0y"));
  strictEqual(read(xs, `${base}/a/bin`), "x\0y", "any bytes");
  ok(s.xs_mkdir(xs, 0, cstr(`${base}/a/c`)));
  ok(s.xs_mkdir(xs, 0, cstr(`${base}/a/c`)), "mkdir of an existing node");
  deepStrictEqual(directory(xs, `${base}/a`), ["b", "bin", "c"], "insertion order");
  deepStrictEqual(directory(xs, `${base}/a/c`), []);
  strictEqual(directory(xs, `${base}/zz`), ENOENT);
  for (const bad of ["rel", `${base}/`, `${base}//x`, `${base}/a.b`, "/" + "x".repeat(3072)]) {
    ok(!write(xs, bad, "v"), bad);
    strictEqual(errno(), EINVAL, bad);
  }
  const perms = new Uint32Array([0, 0, 5, 1]);
  ok(s.xs_set_permissions(xs, 0, cstr(`${base}/a`), perms, 2));
  ok(!s.xs_set_permissions(xs, 0, cstr(`${base}/a`), perms, 0));
  strictEqual(errno(), EINVAL);
  ok(!s.xs_set_permissions(xs, 0, cstr(`${base}/q`), perms, 2));
  strictEqual(errno(), ENOENT);
  const t = s.xs_transaction_start(xs);
  ok(t !== 0);
  ok(write(xs, `${base}/t`, "in-txn"), "transactions apply at once");
  ok(s.xs_transaction_end(xs, t, false));
  ok(!s.xs_transaction_end(xs, t, false), "ended twice");
  strictEqual(errno(), ENOENT);
  ok(s.xs_rm(xs, 0, cstr(`${base}/a`)));
  strictEqual(read(xs, `${base}/a/b`), ENOENT, "children removed too");
  ok(!s.xs_rm(xs, 0, cstr(`${base}/a`)));
  strictEqual(errno(), ENOENT);
  const path = s.xs_get_domain_path(xs, 7)!;
  strictEqual(Deno.UnsafePointerView.getCString(path), "/local/domain/7");
  libc.symbols.free(path);
  ok(s.xs_rm(xs, 0, cstr(base)));
  const g = new BigUint64Array(9);
  ok(s.xsim_global_stats(g, g.length) >= 9);
  ok(g[6] >= 1n, "xs handle counted");
  s.xs_close(xs);
  s.xs_close(null);
});

Deno.test("xenctrl: event channels, gnttab seed, introduce, destroy", () => {
  const xch = s.xc_interface_open(null, null, 0);
  const xs = s.xs_open(0n);
  const id = create();
  try {
    strictEqual(s.xc_evtchn_alloc_unbound(xch, id, 0), 1);
    strictEqual(s.xc_evtchn_alloc_unbound(xch, id, 0), 2);
    strictEqual(s.xc_evtchn_alloc_unbound(xch, id, 1000), -1);
    strictEqual(errno(), ESRCH);
    strictEqual(s.xc_evtchn_alloc_unbound(xch, 1000, 0), -1);
    strictEqual(errno(), ESRCH);
    for (let port = 3; port <= 1023; port++) s.xc_evtchn_alloc_unbound(xch, id, 0);
    strictEqual(s.xc_evtchn_alloc_unbound(xch, id, 0), -1);
    strictEqual(errno(), ENOSPC);
    const store = 0xfeffcn, console = 0xfefffn;
    strictEqual(s.xc_dom_gnttab_seed(xch, id, true, console, 1n << 40n, 0, 0), -1, "beyond");
    strictEqual(errno(), EINVAL);
    strictEqual(s.xc_dom_gnttab_seed(xch, id, true, console, store, 0, 0), 0);
    ok(!s.xs_is_domain_introduced(xs, id));
    ok(s.xs_introduce_domain(xs, id, store, 1));
    ok(s.xs_is_domain_introduced(xs, id));
    ok(!s.xs_introduce_domain(xs, 1000, store, 1));
    const st = stats(id);
    deepStrictEqual(st.slice(18, 27), [1023n, 1n, console, store, 0n, 0n, 1n, store, 1n]);
    ok(write(xs, `/local/domain/${id}/name`, "smoke"));
  } finally {
    strictEqual(s.xsim_destroy_domain(id), 0);
  }
  ok(!s.xs_is_domain_introduced(xs, id), "destroy ends the introduction");
  strictEqual(read(xs, `/local/domain/${id}/name`), "smoke", "nodes stay for the toolstack");
  ok(s.xs_rm(xs, 0, cstr(`/local/domain/${id}`)));
  s.xs_close(xs);
  s.xc_interface_close(xch);
});

Deno.test("guest agent: suspend request acknowledged, domain shut down, resumed", async () => {
  const xch = s.xc_interface_open(null, null, 0);
  const xs = s.xs_open(0n);
  const id = create();
  const node = `/local/domain/${id}/control/shutdown`;
  try {
    ok(flags(id) & XEN_DOMINF_running);
    // Disabled: nothing answers.
    ok(write(xs, node, "suspend"));
    await sleep(30);
    strictEqual(read(xs, node), "suspend");
    strictEqual(s.xsim_set_guest_agent(id, 1, 20), 0);
    strictEqual(s.xsim_set_guest_agent(1000, 1, 0), -ESRCH);
    // Paused: the guest cannot run its driver.
    strictEqual(s.xc_domain_pause(xch, id), 0);
    ok(write(xs, node, "suspend"));
    await sleep(50);
    strictEqual(read(xs, node), "suspend");
    strictEqual(s.xc_domain_unpause(xch, id), 0);
    // Running: ack ("") then shutdown with reason suspend.
    ok(write(xs, node, "suspend"));
    await waitFor(() => read(xs, node) === "", "ack");
    await waitFor(() => (flags(id) & XEN_DOMINF_shutdown) !== 0, "shutdown");
    const f = flags(id);
    strictEqual((f >> 16) & 0xff, 2, "reason suspend");
    strictEqual(f & XEN_DOMINF_running, 0);
    let st = stats(id);
    strictEqual(st[14], 1n);
    strictEqual(st[15], 2n);
    strictEqual(st[6], st[5], "writers parked");
    const writes = st[0];
    await sleep(30);
    strictEqual(stats(id)[0], writes, "no writes while shut down");
    // Unpause does not revive it; a controller pause survives resume.
    strictEqual(s.xc_domain_pause(xch, id), 0);
    strictEqual(s.xc_domain_unpause(xch, id), 0);
    ok(flags(id) & XEN_DOMINF_shutdown);
    strictEqual(s.xc_domain_pause(xch, id), 0);
    strictEqual(s.xc_domain_resume(xch, id, 1), 0);
    strictEqual(flags(id) & (XEN_DOMINF_shutdown | XEN_DOMINF_running), 0);
    ok(flags(id) & XEN_DOMINF_paused);
    strictEqual(s.xc_domain_unpause(xch, id), 0);
    ok(flags(id) & XEN_DOMINF_running);
    await waitFor(() => stats(id)[0] > writes, "writes after resume");
    st = stats(id);
    deepStrictEqual(st.slice(14, 18), [0n, 0n, 1n, 1n]);
    strictEqual(st[29], 1n, "one answer");
    strictEqual(s.xc_domain_resume(xch, id, 0), 0, "resume of a running domain is a no-op");
    ok(s.xs_resume_domain(xs, id));
    // poweroff: reason 0, which resume refuses.
    ok(write(xs, node, "poweroff"));
    await waitFor(() => (flags(id) & XEN_DOMINF_shutdown) !== 0, "poweroff");
    strictEqual((flags(id) >> 16) & 0xff, 0);
    strictEqual(s.xc_domain_resume(xch, id, 0), -1);
    strictEqual(errno(), EINVAL);
  } finally {
    s.xsim_destroy_domain(id);
    s.xs_rm(xs, 0, cstr(`/local/domain/${id}`));
  }
  // Withdrawn before the guest gets to it: nothing happens.
  const id3 = create();
  const node3 = `/local/domain/${id3}/control/shutdown`;
  strictEqual(s.xsim_set_guest_agent(id3, 1, 50), 0);
  ok(write(xs, node3, "suspend"));
  ok(s.xs_rm(xs, 0, cstr(node3)));
  await sleep(100);
  strictEqual(flags(id3) & XEN_DOMINF_shutdown, 0, "withdrawn request not acted on");
  strictEqual(read(xs, node3), ENOENT, "no ack recreates the node");
  strictEqual(s.xsim_destroy_domain(id3), 0);
  s.xs_rm(xs, 0, cstr(`/local/domain/${id3}`));
  // Destroyed while a slow answer is pending: dropped safely.
  const id2 = create();
  strictEqual(s.xsim_set_guest_agent(id2, 1, 50), 0);
  ok(write(xs, `/local/domain/${id2}/control/shutdown`, "reboot"));
  strictEqual(s.xsim_destroy_domain(id2), 0);
  await sleep(100);
  strictEqual(read(xs, `/local/domain/${id2}/control/shutdown`), "reboot", "no ack after destroy");
  s.xs_rm(xs, 0, cstr(`/local/domain/${id2}`));
  strictEqual(s.xsim_shutdown_domain(id2, 3), -ESRCH);
  s.xs_close(xs);
  s.xc_interface_close(xch);
});
