/**
 * Where Xen 4.17's `convert-legacy-stream` is broken under Python 3, ours
 * does what it meant.  Each test shows the breakage in Xen's script as
 * shipped, then checks ours against Xen's script with just that bug fixed
 * (see harness.ts), byte for byte:
 *
 * - `-x`: Xen compares the xl magic (bytes) with a str, so every xl header
 *   is "No xl header" — and it leaves an empty output file behind.
 * - physmap names that are not UTF-8: Xen decodes them to print them (even
 *   without `-v`) and crashes.
 * - a page batch of only XTAB fillers: Xen writes a PAGE_DATA record with
 *   count 0, which both verifiers reject; ours writes no record.
 * - `--version`: Xen's optparse crashes on the integer version.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import {
  decodeXlHeader,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
} from "../../lib/xl/header.ts";
import type { XenReference } from "../support/xen_packages.ts";
import { fixedFixtures, xtabOnlyFixture } from "./fixtures.ts";
import {
  assertVerifies,
  firstDifference,
  IGNORE_WITHOUT_XEN,
  ourVerify,
  readIfExists,
  REF,
  runOurs,
  runXen,
  tempFile,
  xenVerify,
} from "./harness.ts";

const [pvXl, hvmXl, nonUtf8] = fixedFixtures();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "legacy-py3-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Removes libxc PAGE_DATA records of count 0 (what Xen writes for an all-XTAB batch). */
async function withoutEmptyPageData(
  bytes: Uint8Array,
  format: "libxc" | "libxl",
): Promise<Uint8Array> {
  const cut: number[] = [];
  for await (const ev of new StreamParser(bytesSource(bytes), { format }).events()) {
    if (ev.kind === "record" && ev.layer === "libxc" && ev.type === 1 && ev.length === 8) {
      cut.push(ev.offset);
    }
  }
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of cut) {
    parts.push(bytes.subarray(at, c));
    at = c + 16;
  }
  parts.push(bytes.subarray(at));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test({
  name: "-x: Xen's script rejects every xl header under Python 3; ours passes it through",
  ignore: IGNORE_WITHOUT_XEN,
  fn: () =>
    withDir(async (dir) => {
      const ref = REF as XenReference;
      for (const f of [pvXl, hvmXl]) {
        const input = await tempFile(f.bytes, dir);
        for (const format of ["libxc", "libxl"] as const) {
          const args = ["-i", input, "-w", String(f.width), "-g", f.guest, "-f", format, "-x"];
          const broken = await runXen(ref, [...args, "-o", `${input}.broken`]);
          assert.equal(broken.code, 1);
          assert.ok(broken.stderr.includes("No xl header"), broken.stderr);
          assert.equal(
            (await Deno.readFile(`${input}.broken`)).length,
            0,
            "Xen leaves an empty file",
          );

          const fixed = await runXen(ref, [...args, "-o", `${input}.fixed`], "xl");
          const ours = await runOurs([...args, "-o", `${input}.ours`, "-v"]);
          assert.equal(fixed.code, 0, fixed.stderr);
          assert.equal(ours.code, 0, ours.stderr);
          assert.ok(ours.stdout.startsWith("Processed xl header\n"), ours.stdout);
          const want = await Deno.readFile(`${input}.fixed`);
          const got = await Deno.readFile(`${input}.ours`);
          assert.equal(firstDifference(got, want), undefined, `${f.name} [${format}]`);

          const inHeader = decodeXlHeader(f.bytes);
          const outHeader = decodeXlHeader(got);
          assert.equal(inHeader.mandatoryFlags, XL_MANDATORY_FLAG_JSON);
          assert.equal(
            outHeader.mandatoryFlags,
            format === "libxl"
              ? XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2
              : XL_MANDATORY_FLAG_JSON,
          );
          assert.deepEqual(
            got.subarray(48, 48 + inHeader.optionalDataLen),
            f.bytes.subarray(48, 48 + inHeader.optionalDataLen),
          );
          await assertVerifies(ref, `${input}.ours`, got, "xl", `${f.name} [${format}]`);
        }
      }
    }),
});

Deno.test("-x on an image without an xl header: one-line error, exit 1, no file", () =>
  withDir(async (dir) => {
    const input = await tempFile(fixedFixtures()[0].bytes.subarray(100), dir);
    const r = await runOurs(["-i", input, "-o", `${dir}/out`, "-x", "-w", "64", "-g", "pv"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "Stream Error: No xl header (xl header, offset 0)\n");
    assert.equal(await readIfExists(`${dir}/out`), undefined);
  }));

Deno.test({
  name:
    "a physmap name that is not UTF-8: Xen's script crashes; ours converts and prints it escaped",
  ignore: IGNORE_WITHOUT_XEN,
  fn: () =>
    withDir(async (dir) => {
      const ref = REF as XenReference;
      const f = nonUtf8;
      const input = await tempFile(f.bytes, dir);
      const args = ["-i", input, "-w", "64", "-g", "hvm", "-f", "libxl"];
      const broken = await runXen(ref, [...args, "-o", `${input}.broken`]); // Not even -v.
      assert.equal(broken.code, 1);
      assert.ok(broken.stderr.includes("UnicodeDecodeError"), broken.stderr);

      const fixed = await runXen(ref, [...args, "-o", `${input}.fixed`], "utf8");
      const ours = await runOurs([...args, "-o", `${input}.ours`, "-v"]);
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.ok(
        ours.stdout.includes("    'physmap/f0000000/name' = 'v\\xff\\xfea'\n"),
        ours.stdout,
      );
      const got = await Deno.readFile(`${input}.ours`);
      assert.equal(firstDifference(got, await Deno.readFile(`${input}.fixed`)), undefined);
      // The name's octets reach the xenstore record unchanged.
      const name = new Uint8Array([0x76, 0xff, 0xfe, 0x61, 0]);
      assert.ok(
        Buffer.from(got).includes(Buffer.from([...new TextEncoder().encode("name\0"), ...name])),
      );
      await assertVerifies(ref, `${input}.ours`, got, "libxl", f.name);
    }),
});

Deno.test({
  name:
    "a batch of only XTAB fillers: Xen writes a count-0 PAGE_DATA that fails verification; ours writes none",
  ignore: IGNORE_WITHOUT_XEN,
  fn: () =>
    withDir(async (dir) => {
      const ref = REF as XenReference;
      for (const width of [32, 64] as const) {
        const f = xtabOnlyFixture(width);
        const input = await tempFile(f.bytes, dir);
        for (const format of ["libxc", "libxl"] as const) {
          const what = `${f.name} [${format}]`;
          const args = ["-i", input, "-w", String(width), "-g", "hvm", "-f", format];
          const xen = await runXen(ref, [...args, "-o", `${input}.xen`]);
          assert.equal(xen.code, 0, xen.stderr);
          const xenBytes = await Deno.readFile(`${input}.xen`);
          assert.equal(
            (await ourVerify(xenBytes, format)).exitCode,
            1,
            `${what}: Xen's output verified`,
          );
          const xenVerdict = await xenVerify(ref, `${input}.xen`, format);
          assert.equal(xenVerdict.code, 1);
          assert.ok(
            xenVerdict.stderr.includes("PAGE_DATA record must be at least 8 bytes long"),
            xenVerdict.stderr,
          );

          const ours = await runOurs([...args, "-o", `${input}.ours`, "-v"]);
          assert.equal(ours.code, 0, ours.stderr);
          assert.ok(
            ours.stdout.includes("Batch of 3 XTAB fillers dropped: no PAGE_DATA record"),
            ours.stdout,
          );
          const got = await Deno.readFile(`${input}.ours`);
          const want = await withoutEmptyPageData(xenBytes, format);
          assert.equal(want.length, xenBytes.length - 16, `${what}: exactly one record removed`);
          assert.equal(firstDifference(got, want), undefined, what);
          await assertVerifies(ref, `${input}.ours`, got, format, what);
        }
      }
    }),
});

Deno.test({
  name: "--version: Xen's script crashes under Python 3; ours prints the converter version",
  ignore: IGNORE_WITHOUT_XEN,
  async fn() {
    const xen = await runXen(REF as XenReference, ["--version"]);
    assert.equal(xen.code, 1);
    assert.ok(xen.stderr.includes("AttributeError"), xen.stderr);
    const ours = await runOurs(["--version"]);
    assert.equal(ours.code, 0);
    assert.equal(ours.stdout, "1\n");
  },
});
