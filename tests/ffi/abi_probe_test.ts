/**
 * ABI proof: compiles a C probe against Debian's libxen-dev 4.17 headers and
 * checks every struct size, field offset, scalar size and constant the
 * bindings (and the simulator, generated from the same tables) assume.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { fieldSize, xenConstants } from "../../native/abi_gen.ts";
import { LAYOUTS, SCALAR_SIZES } from "../../lib/xen/layout.ts";
import { reference } from "./_helpers.ts";

const ref = await reference();
const ignore = typeof ref === "string";
if (ignore) console.warn(`ABI probe ignored: ${ref}`);

function probeSource(): string {
  const lines = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    "#include <sys/mman.h>",
    "#include <xenctrl.h>",
    "#include <xenguest.h>",
    "#include <xenforeignmemory.h>",
    "#include <xen/hvm/save.h>",
    "int main(void) {",
  ];
  for (const layout of Object.values(LAYOUTS)) {
    lines.push(`  printf("size\\t%s\\t%zu\\n", "${layout.cType}", sizeof(${layout.cType}));`);
    for (const [field, f] of Object.entries(layout.fields)) {
      const t = `${layout.cType}`;
      lines.push(
        `  printf("offset\\t%s.%s\\t%zu\\n", "${t}", "${field}", offsetof(${t}, ${field}));`,
      );
      // sizeof a member through a null pointer is unevaluated, so legal.
      lines.push(
        `  printf("fsize\\t%s.%s\\t%zu\\t${
          fieldSize(f)
        }\\n", "${t}", "${field}", sizeof(((${t} *)0)->${field}));`,
      );
    }
  }
  for (const name of Object.keys(SCALAR_SIZES)) {
    lines.push(`  printf("size\\t${name}\\t%zu\\n", sizeof(${name}));`);
  }
  for (const [name] of xenConstants()) {
    lines.push(`  printf("const\\t${name}\\t%lld\\n", (long long)(${name}));`);
  }
  lines.push("  return 0;", "}");
  return lines.join("\n") + "\n";
}

async function runProbe(includeDir: string): Promise<Map<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-abi-" });
  try {
    const src = join(dir, "probe.c"), exe = join(dir, "probe");
    await Deno.writeTextFile(src, probeSource());
    const cc = await new Deno.Command("cc", {
      // xenctrl.h defines __XEN_TOOLS__ itself; -D keeps the other headers consistent.
      args: ["-D__XEN_TOOLS__", "-I", includeDir, "-o", exe, src],
      stderr: "piped",
    }).output();
    if (!cc.success) {
      throw new Error(`probe failed to compile:\n${new TextDecoder().decode(cc.stderr)}`);
    }
    const out = await new Deno.Command(exe, { stdout: "piped" }).output();
    const result = new Map<string, number>();
    for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
      const parts = line.split("\t");
      result.set(`${parts[0]} ${parts[1]}`, Number(parts[2]));
      if (parts[0] === "fsize") result.set(`want ${parts[1]}`, Number(parts[3]));
    }
    return result;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "abi: every struct size and field offset in layout.ts matches libxen-dev 4.17",
  ignore,
  async fn() {
    const probe = await runProbe((ref as { includeDir: string }).includeDir);
    let checked = 0;
    for (const [name, layout] of Object.entries(LAYOUTS)) {
      assertEquals(
        probe.get(`size ${layout.cType}`),
        layout.size,
        `sizeof(${layout.cType}) [${name}]`,
      );
      checked++;
      for (const [field, f] of Object.entries(layout.fields)) {
        const key = `${layout.cType}.${field}`;
        assertEquals(probe.get(`offset ${key}`), f.offset, `offsetof(${key})`);
        assertEquals(
          probe.get(`fsize ${key}`),
          probe.get(`want ${key}`),
          `sizeof(${key}) vs type ${f.type}`,
        );
        checked += 2;
      }
    }
    for (const [name, size] of Object.entries(SCALAR_SIZES)) {
      assertEquals(probe.get(`size ${name}`), size, `sizeof(${name})`);
      checked++;
    }
    console.log(`checked ${checked} sizes/offsets`);
  },
});

Deno.test({
  name: "abi: every constant in constants.ts matches the Xen headers",
  ignore,
  async fn() {
    const probe = await runProbe((ref as { includeDir: string }).includeDir);
    const constants = xenConstants();
    for (const [name, value] of constants) {
      assertEquals(probe.get(`const ${name}`), value, name);
    }
    console.log(`checked ${constants.length} constants`);
  },
});
