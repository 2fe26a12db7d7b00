/** The simulator builds with cc alone from a clean checkout, and rebuilds only when needed. */

import { ok, strictEqual } from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSimulator, SIMULATOR_PATH } from "../../native/build.ts";

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

Deno.test("build: buildSimulator() is a no-op when up to date", async () => {
  const path = await buildSimulator();
  strictEqual(path, SIMULATOR_PATH);
  const before = statSync(path).mtimeMs;
  await buildSimulator();
  strictEqual(statSync(path).mtimeMs, before, "rebuilt although nothing changed");
});

Deno.test("build: a clean copy of the sources builds, then is up to date", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-clean-" });
  try {
    // What a fresh clone holds for the build: sources, the ABI tables, no native/build/.
    for (
      const p of [
        "native/build.ts",
        "native/abi_gen.ts",
        "native/sim",
        "lib/xen/layout.ts",
        "lib/xen/constants.ts",
      ]
    ) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      cpSync(join(ROOT, p), join(dir, p), { recursive: true });
    }
    ok(!existsSync(join(dir, "native/build")));
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-lock", "native/build.ts"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
    const first = await run();
    const out1 = new TextDecoder().decode(first.stdout) + new TextDecoder().decode(first.stderr);
    ok(first.success, out1);
    ok(/built .*libxenctrl-sim\.so/.test(out1), out1);
    const so = join(dir, "native/build/libxenctrl-sim.so");
    ok(existsSync(so));
    const second = await run();
    ok(/up to date/.test(new TextDecoder().decode(second.stdout)), "second build was not a no-op");
    // The result is loadable and answers like libxenctrl.
    const lib = Deno.dlopen(so, {
      xc_interface_open: { parameters: ["pointer", "pointer", "u32"], result: "pointer" },
      xc_interface_close: { parameters: ["pointer"], result: "i32" },
    });
    const xch = lib.symbols.xc_interface_open(null, null, 0);
    ok(xch !== null);
    strictEqual(lib.symbols.xc_interface_close(xch), 0);
    lib.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
