/**
 * The real Debian libraries: every bound symbol resolves in
 * libxenctrl.so.4.17 / libxenguest.so.4.17 / libxenforeignmemory.so.1 /
 * libxenstore.so.4, and
 * opening them without /dev/xen/privcmd is a clear error, not a crash.
 * The simulator must export the very same symbols.
 */

import { deepStrictEqual, match, ok, rejects, throws } from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Hypervisor, PRIVCMD } from "../../lib/xen/hypervisor.ts";
import { loadXenLibraries, simLibraryPaths, xenLibraryPaths } from "../../lib/xen/library.ts";
import { openHypervisor } from "../../lib/xen/open.ts";
import { XenError } from "../../lib/xen/errors.ts";
import {
  FOREIGNMEMORY_SYMBOLS,
  XENCTRL_SYMBOLS,
  XENGUEST_SYMBOLS,
  XENSTORE_SYMBOLS,
} from "../../lib/xen/symbols.ts";
import { reference, SIM_PATH } from "./_helpers.ts";

const ref = await reference();
const noPackages = typeof ref === "string";
if (noPackages) console.warn(`real-library tests ignored: ${ref}`);
const isDom0 = existsSync(PRIVCMD);
if (isDom0) console.warn(`"no privcmd" tests ignored: ${PRIVCMD} exists (this is a dom0)`);

const ALL_SYMBOLS = [
  ...Object.keys(XENCTRL_SYMBOLS),
  ...Object.keys(XENGUEST_SYMBOLS),
  ...Object.keys(FOREIGNMEMORY_SYMBOLS),
  ...Object.keys(XENSTORE_SYMBOLS),
];

function libDir(): string {
  return (ref as { libDir: string }).libDir;
}

Deno.test({
  name: "real libs: every bound symbol resolves in Debian's libxenctrl 4.17 and friends",
  ignore: noPackages,
  fn() {
    const paths = xenLibraryPaths(libDir());
    deepStrictEqual(paths.xenctrl, join(libDir(), "libxenctrl.so.4.17"));
    // Deno.dlopen fails if any listed symbol is missing, so opening is the proof.
    const libs = loadXenLibraries(paths);
    try {
      for (const name of Object.keys(XENCTRL_SYMBOLS)) {
        ok(typeof (libs.ctrl.symbols as Record<string, unknown>)[name] === "function", name);
      }
      for (const name of Object.keys(XENGUEST_SYMBOLS)) {
        ok(typeof (libs.guest.symbols as Record<string, unknown>)[name] === "function", name);
      }
      for (const name of Object.keys(FOREIGNMEMORY_SYMBOLS)) {
        ok(typeof (libs.fmem.symbols as Record<string, unknown>)[name] === "function", name);
      }
      for (const name of Object.keys(XENSTORE_SYMBOLS)) {
        ok(typeof (libs.store.symbols as Record<string, unknown>)[name] === "function", name);
      }
    } finally {
      libs.close();
    }
    console.log(`${ALL_SYMBOLS.length} symbols resolved`);
  },
});

Deno.test({
  name: "real libs: a missing symbol would be caught (the resolution check can fail)",
  ignore: noPackages,
  fn() {
    const libs = loadXenLibraries(xenLibraryPaths(libDir())); // keeps the dependencies loaded
    try {
      throws(
        () =>
          Deno.dlopen(join(libDir(), "libxenctrl.so.4.17"), {
            xc_no_such_call: { parameters: [], result: "void" },
          }),
        /xc_no_such_call/,
      );
    } finally {
      libs.close();
    }
  },
});

Deno.test({
  name: "real libs: raw xc_interface_open without privcmd returns NULL with errno, no crash",
  ignore: noPackages || isDom0,
  fn() {
    const libs = loadXenLibraries(xenLibraryPaths(libDir()));
    try {
      const xch = libs.ctrl.symbols.xc_interface_open(null, null, 0);
      const errno = libs.errno();
      deepStrictEqual(xch, null);
      ok(errno > 0, `errno ${errno}`);
    } finally {
      libs.close();
    }
  },
});

Deno.test({
  name: "real libs: Hypervisor.open says 'not a Xen dom0 (no /dev/xen/privcmd)'",
  ignore: noPackages || isDom0,
  fn() {
    throws(
      () => Hypervisor.open({ backend: "xen", library: libDir() }),
      (e: unknown) =>
        e instanceof XenError && e.call === "xc_interface_open" && e.code === "ENOENT" &&
        /not a Xen dom0 \(no \/dev\/xen\/privcmd\)/.test(e.message),
    );
  },
});

Deno.test({
  name: "backend choice: no --sim and no privcmd fails clearly, never falls back to the simulator",
  ignore: isDom0,
  async fn() {
    await rejects(openHypervisor({}), (e: unknown) => {
      ok(e instanceof XenError);
      match(e.message, /not a Xen dom0 \(no \/dev\/xen\/privcmd\); pass --sim <spec>/);
      return true;
    });
  },
});

Deno.test("backend choice: a sim spec and a library path together are refused", async () => {
  await rejects(openHypervisor({ sim: "mem=64M", library: "/nowhere" }), TypeError);
});

Deno.test("backend choice: a bad library path names the path", () => {
  throws(
    () => Hypervisor.open({ backend: "xen", library: "/nonexistent/libxenctrl.so.4.17" }),
    (e: unknown) =>
      e instanceof XenError && e.call === "dlopen" && e.message.includes("/nonexistent/"),
  );
});

Deno.test("loading: a library lacking a bound symbol fails at load, naming it and the path", () => {
  // libc has no xs_* functions: binding happens on first use, but presence is checked now.
  throws(
    () => loadXenLibraries({ ...simLibraryPaths(SIM_PATH), xenstore: "libc.so.6" }),
    (e: unknown) =>
      e instanceof XenError && e.call === "dlopen" && e.message.includes("libc.so.6") &&
      /xs_\w+/.test(e.message),
  );
});

Deno.test("loading: symbols are bound on first use, once, or all by bindAll", () => {
  const libs = loadXenLibraries(simLibraryPaths(SIM_PATH));
  try {
    const table = libs.ctrl.symbols as Record<string, unknown>;
    const before = Object.getOwnPropertyDescriptor(table, "xc_domain_pause")!;
    ok(before.get !== undefined && !("value" in before), "bound before its first use");
    const fn = table.xc_domain_pause;
    ok(typeof fn === "function");
    ok(table.xc_domain_pause === fn, "bound again on the second use");
    ok(Object.getOwnPropertyDescriptor(table, "xc_domain_pause")!.value === fn);
    // bindAll leaves nothing to bind (the downtime's calls are then ready).
    libs.bindAll();
    for (const t of [libs.ctrl, libs.guest, libs.fmem, libs.store]) {
      const symbols = t.symbols as Record<string, unknown>;
      for (const name of Object.keys(symbols)) {
        ok(typeof Object.getOwnPropertyDescriptor(symbols, name)!.value === "function", name);
      }
    }
    ok(table.xc_domain_pause === fn, "bindAll kept what was bound");
  } finally {
    libs.close();
  }
});

Deno.test("simulator: exports every symbol the real libraries are bound with", () => {
  const libs = loadXenLibraries(simLibraryPaths(SIM_PATH));
  libs.close();
  const nm = new Deno.Command("nm", { args: ["-D", "--defined-only", SIM_PATH], stdout: "piped" })
    .outputSync();
  const exported = new Set(
    new TextDecoder().decode(nm.stdout).trim().split("\n").map((l) => l.split(" ").pop()!),
  );
  for (const name of ALL_SYMBOLS) ok(exported.has(name), `simulator lacks ${name}`);
  // Everything else it exports is simulator-only and says so.
  for (const name of exported) {
    ok(ALL_SYMBOLS.includes(name) || name.startsWith("xsim_"), `unexpected export ${name}`);
  }
});
