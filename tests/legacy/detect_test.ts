/**
 * Detection of toolstack width and guest type (`-w` / `-g` left out): the
 * spec's width rule, structural guest-type detection on every fixture,
 * refusal of ambiguous images and of input that is no legacy image.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StreamError } from "../../lib/errors.ts";
import { encodeImageHeader } from "../../lib/libxc/image_header.ts";
import { encodeLibxlHeader } from "../../lib/libxl/header.ts";
import { DETECT_WINDOW, detectLegacyLayout, rejectNonLegacy } from "../../lib/legacy/detect.ts";
import { LegacyDetectionError } from "../../lib/legacy/errors.ts";
import {
  fixedFixtures,
  type Fixture,
  invalidFixtures,
  validFixtures,
  xtabOnlyFixture,
} from "./fixtures.ts";
import { readIfExists, runOurs, tempFile } from "./harness.ts";
import { LegacyImageBuilder, pattern, xlHeader } from "./legacy_builder.ts";

/** The image without its xl header. */
function image(f: Fixture): Uint8Array {
  if (!f.flags?.includes("-x")) return f.bytes;
  const optLen = new DataView(f.bytes.buffer, f.bytes.byteOffset).getUint32(44, true);
  return f.bytes.subarray(48 + optLen);
}

function window(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, DETECT_WINDOW);
}

/** Every image a saver could have written, valid or failing later. */
function detectable(): Fixture[] {
  return [
    ...validFixtures(),
    ...fixedFixtures(),
    xtabOnlyFixture(32),
    xtabOnlyFixture(64),
    ...invalidFixtures().filter((f) => f.expect.libxc === 0),
  ].filter((f) => !f.undetectable);
}

/**
 * An image that reads both ways: 32-bit octets 4-7 of 0xffffffff are the PV
 * extended-info signature or HVM chunk -1; the next word is PV's length
 * (4 GiB) or HVM chunk -13 (enable_compression, where an HVM reading
 * stops); PV blocks then fill the window.
 */
function ambiguous(width: 32 | 64): Uint8Array {
  const b = new LegacyImageBuilder(width).p2mSize(0x1000).ulong(
    width === 64 ? 0xffffffffffffffffn : 0xffffffff,
  );
  b.i32(-13).ascii("vcpu").u32(0xaf0).raw(pattern(0xaf0));
  for (let i = 0; i < DETECT_WINDOW / 8; i++) b.ascii("extv").u32(0);
  return b.build();
}

Deno.test("detection finds width and guest type of every fixture a saver could write", () => {
  for (const f of detectable()) {
    const d = detectLegacyLayout(window(image(f)));
    assert.equal(d.width, f.width, f.name);
    assert.equal(d.guestType, f.guest, f.name);
    assert.ok(d.widthReason && d.guestReason, f.name);
  }
});

Deno.test("detection applies the spec's width rule to octets 4-7", () => {
  const pv32 = validFixtures().find((f) => f.width === 32 && f.guest === "pv")!;
  const d32 = detectLegacyLayout(pv32.bytes);
  assert.match(d32.widthReason!, /octets 4-7 are 0xffffffff \(the PV extended-info signature/);
  const pv64 = validFixtures().find((f) => f.width === 64 && f.guest === "pv")!;
  assert.match(detectLegacyLayout(pv64.bytes).widthReason!, /octets 4-7 are zero/);
  const hvmChunk = new LegacyImageBuilder(32).p2mSize(8).chunk(-9).build();
  assert.match(detectLegacyLayout(hvmChunk).widthReason!, /HVM chunk type -9/);
  const hvmBatch = new LegacyImageBuilder(32).p2mSize(8).batch([1, 2]).build();
  assert.match(detectLegacyLayout(hvmBatch).widthReason!, /an HVM page batch of 2 pages/);
  assert.equal(detectLegacyLayout(hvmBatch).guestType, "hvm");
});

Deno.test("detection only fills in what is not given", () => {
  const hvm = validFixtures().find((f) => f.width === 64 && f.guest === "hvm")!;
  const a = detectLegacyLayout(hvm.bytes, { width: 64 });
  assert.equal(a.widthReason, undefined);
  assert.equal(a.guestType, "hvm");
  const b = detectLegacyLayout(hvm.bytes, { guestType: "hvm" });
  assert.equal(b.width, 64);
  assert.equal(b.guestReason, undefined);
});

Deno.test("an HVM image opening with enable_verify_mode chunks is not mistaken for PV", () => {
  // 64-bit: two -1 chunks make octets 8-15 all ones, like the PV signature.
  const b = new LegacyImageBuilder(64).p2mSize(0x100).chunk(-1).chunk(-1).vcpuInfo(0, [0]).batch([
    1,
  ]).end();
  const d = detectLegacyLayout(b.build());
  assert.equal(d.guestType, "hvm");
  assert.match(d.guestReason!, /first chunk -1 \(enable_verify_mode/);
});

Deno.test("ambiguous images are refused, naming both readings and -g", () => {
  for (const width of [32, 64] as const) {
    assert.throws(
      () => detectLegacyLayout(window(ambiguous(width))),
      (e: unknown) =>
        e instanceof LegacyDetectionError && e instanceof StreamError &&
        /ambiguous guest type: the \d+-bit image reads as PV \(.*\) and as HVM \(.*\); pass -g pv or -g hvm/
          .test(e.message),
    );
  }
  // Too short to tell: both readings hold as far as the bytes go.
  const tiny = new LegacyImageBuilder(32).p2mSize(1).u32(0xffffffff).build();
  assert.throws(() => detectLegacyLayout(tiny), /ambiguous guest type/);
});

Deno.test("the CLI refuses an ambiguous image with exit 1 and no output; -g settles it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await tempFile(ambiguous(32), dir);
    const r = await runOurs(["-i", input, "-o", `${dir}/out`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Stream Error: ambiguous guest type: .*pass -g pv or -g hvm \(legacy image detection, offset 0\)\n$/,
    );
    assert.equal(await readIfExists(`${dir}/out`), undefined);
    // As HVM the image reaches chunk -13, which the converter does not implement.
    const hvm = await runOurs(["-i", input, "-o", `${dir}/out`, "-g", "hvm"]);
    assert.equal(hvm.code, 2, hvm.stderr);
    assert.match(hvm.stderr, /^Unsupported: enable_compression chunks are not supported/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("input that is no legacy image is refused with what it is", () => {
  const cases: [Uint8Array, RegExp][] = [
    [encodeImageHeader({}), /already a libxc v2 \(or later\) stream/],
    [encodeLibxlHeader({}), /already a libxl v2 stream/],
    [xlHeader(), /starts with an xl header: pass -x\/--xl/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => rejectNonLegacy(bytes, 0),
      (e: unknown) => e instanceof LegacyDetectionError && message.test(e.message),
    );
  }
  assert.throws(
    () => detectLegacyLayout(new TextEncoder().encode("this is not a legacy image at all")),
    /not a legacy image of a 32-bit toolstack \(octets 4-7 are 0x20736920 \(no page count up to MAX_BATCH\)\): not PV \(no extended-info signature.*\), not HVM \(a page batch of 544434464 pages exceeds MAX_BATCH\); pass -w and -g if it is one/,
  );
  assert.throws(() => detectLegacyLayout(new Uint8Array(5)), /Stream truncated/);
});

Deno.test("the CLI refuses a v2 stream even with -w and -g (Xen's script fails on it too)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await tempFile(
      new Uint8Array([...encodeImageHeader({}), ...new Uint8Array(64)]),
      dir,
    );
    const r = await runOurs(["-i", input, "-o", `${dir}/out`, "-w", "64", "-g", "hvm"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "Stream Error: the input is already a libxc v2 (or later) stream, not a legacy image (legacy image detection, offset 0)\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-v says what was detected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pv32 = validFixtures().find((f) => f.width === 32 && f.guest === "pv")!;
    const input = await tempFile(pv32.bytes, dir);
    const r = await runOurs(["-i", input, "-o", `${dir}/out`, "-v"]);
    assert.equal(r.code, 0, r.stderr);
    const [width, guest] = r.stdout.split("\n");
    assert.equal(
      width,
      "Detected 32-bit toolstack: octets 4-7 are 0xffffffff (the PV extended-info signature, or HVM chunk -1)",
    );
    assert.match(
      guest,
      /^Detected PV guest: extended-info signature, vcpu block of 0xaf0 bytes \(32-bit guest\)/,
    );
    const given = await runOurs(["-i", input, "-o", `${dir}/out`, "-v", "-w", "32", "-g", "pv"]);
    assert.ok(!given.stdout.includes("Detected"), given.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
