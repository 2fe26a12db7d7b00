/**
 * The drop-in command: atomic file output, descriptors and non-regular
 * outputs, options and exit codes, one-line errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { invalidFixtures, validFixtures } from "./fixtures.ts";
import { readIfExists, ROOT, run, runOurs, tempFile } from "./harness.ts";

const hvm64 = validFixtures().find((f) => f.guest === "hvm" && f.width === 64)!;
const truncatedBatch = invalidFixtures().find((f) => f.name.includes("truncated in a page batch"))!;
const tmem = invalidFixtures().find((f) => f.name.includes("tmem chunk"))!;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "legacy-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("file output is atomic: nothing is left on a stream error or an unsupported chunk", () =>
  withDir(async (dir) => {
    for (const [f, code] of [[truncatedBatch, 1], [tmem, 2]] as const) {
      const input = await tempFile(f.bytes, dir);
      const out = `${dir}/out.v2`;
      const r = await runOurs(["-i", input, "-o", out]);
      assert.equal(r.code, code, r.stderr);
      assert.equal(await readIfExists(out), undefined);
      // Neither the output nor its temporary file exists.
      assert.deepEqual((await entries(dir)).filter((n) => n.includes("out.v2")), []);
      await Deno.remove(input);
    }
  }));

Deno.test("a failed conversion leaves an existing output untouched; a good one replaces it", () =>
  withDir(async (dir) => {
    const out = `${dir}/existing.v2`;
    const before = new TextEncoder().encode("precious");
    await Deno.writeFile(out, before);
    const bad = await tempFile(truncatedBatch.bytes, dir);
    assert.equal((await runOurs(["-i", bad, "-o", out])).code, 1);
    assert.deepEqual(await Deno.readFile(out), before);

    const good = await tempFile(hvm64.bytes, dir);
    const r = await runOurs(["-i", good, "-o", out, "-f", "libxl"]);
    assert.equal(r.code, 0, r.stderr);
    const after = await Deno.readFile(out);
    assert.equal(new TextDecoder().decode(after.subarray(0, 8)), "LibxlFmt");
    assert.deepEqual(await entries(dir), [bad, good, out].map((p) => p.split("/").pop()!).sort());
  }));

Deno.test("an output symlink keeps pointing at the converted file", () =>
  withDir(async (dir) => {
    const good = await tempFile(hvm64.bytes, dir);
    await Deno.writeTextFile(`${dir}/real.v2`, "old");
    await Deno.symlink(`${dir}/real.v2`, `${dir}/link.v2`);
    const r = await runOurs(["-i", good, "-o", `${dir}/link.v2`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await Deno.lstat(`${dir}/link.v2`)).isSymlink);
    assert.ok((await Deno.readFile(`${dir}/real.v2`)).length > 1000);
  }));

Deno.test("non-regular outputs are written directly: /dev/null stays a device", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await tempFile(hvm64.bytes, dir);
    const r = await runOurs(["-i", input, "-o", "/dev/null", "-f", "libxl"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await Deno.stat("/dev/null")).isCharDevice);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-i 0 -o 1: the stream on stdout equals the file conversion; -v goes to stderr", () =>
  withDir(async (dir) => {
    const input = await tempFile(hvm64.bytes, dir);
    assert.equal((await runOurs(["-i", input, "-o", `${dir}/file.v2`, "-f", "libxl"])).code, 0);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}/scripts/convert-legacy-stream.ts`,
        "-i",
        "0",
        "-o",
        "1",
        "-f",
        "libxl",
        "-v",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(hvm64.bytes);
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0);
    assert.deepEqual(out.stdout, await Deno.readFile(`${dir}/file.v2`));
    const err = new TextDecoder().decode(out.stderr);
    assert.ok(
      err.includes("P2M Size: 0x10000\n") &&
        err.includes("Qemu signature: DeviceModelRecord0002\n"),
      err,
    );
  }));

Deno.test("other descriptors: -i 5 -o 6", () =>
  withDir(async (dir) => {
    const input = await tempFile(hvm64.bytes, dir);
    assert.equal((await runOurs(["-i", input, "-o", `${dir}/file.v2`])).code, 0);
    const script = `${ROOT}/scripts/convert-legacy-stream.ts`;
    const r = await run("sh", [
      "-c",
      `'${Deno.execPath()}' run -A '${script}' -i 5 -o 6 5<'${input}' 6>'${dir}/fd.v2'`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/fd.v2`), await Deno.readFile(`${dir}/file.v2`));
  }));

Deno.test("options and exit codes follow Xen's script", async () => {
  const unknown = await runOurs(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.ok(
    unknown.stderr.includes("convert-legacy-stream: error: no such option: --bogus"),
    unknown.stderr,
  );
  const badWidth = await runOurs(["-i", "x", "-o", "y", "-w", "16"]);
  assert.equal(badWidth.code, 2);
  assert.ok(
    badWidth.stderr.includes("invalid choice: '16' (choose from '32', '64')"),
    badWidth.stderr,
  );
  const badFormat = await runOurs(["-i", "x", "-o", "y", "-f", "xl"]);
  assert.equal(badFormat.code, 2);
  // Missing -i or -o: the help, on stderr, exit code 1 (as Xen's script).
  const missing = await runOurs(["-o", "y"]);
  assert.equal(missing.code, 1);
  assert.ok(missing.stderr.includes("-i <FD or FILE>, --in=<FD or FILE>"), missing.stderr);
  const help = await runOurs(["--help"]);
  assert.equal(help.code, 0);
  for (
    const flag of [
      "--width=<32/64>",
      "--guest-type=<pv/hvm>",
      "--format=<libxc|libxl>",
      "--xl",
      "--skip-qemu",
      "--syslog",
      "--version",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), flag);
  }
});

Deno.test("a missing input or an unwritable output: one line, exit 1", () =>
  withDir(async (dir) => {
    const noInput = await runOurs(["-i", `${dir}/absent`, "-o", `${dir}/out`]);
    assert.equal(noInput.code, 1);
    assert.match(noInput.stderr, /^convert-legacy-stream: cannot open input '.*absent': .*\n$/);
    const input = await tempFile(hvm64.bytes, dir);
    const noDir = await runOurs(["-i", input, "-o", `${dir}/no/such/dir/out`]);
    assert.equal(noDir.code, 1);
    assert.match(noDir.stderr, /^convert-legacy-stream: cannot open output '.*out': .*\n$/);
  }));

Deno.test("bad input never shows a stack trace", () =>
  withDir(async (dir) => {
    for (const f of invalidFixtures()) {
      const input = await tempFile(f.bytes, dir);
      const r = await runOurs([
        "-i",
        input,
        "-o",
        `${dir}/out`,
        "-w",
        String(f.width),
        "-g",
        f.guest,
        "-f",
        "libxl",
      ]);
      assert.ok(r.code === 1 || r.code === 2, f.name);
      assert.equal(r.stderr.trim().split("\n").length, 1, `${f.name}: ${r.stderr}`);
      assert.ok(!/\bat .*\.ts:\d+/.test(r.stderr), `${f.name}: ${r.stderr}`);
      await Deno.remove(input);
    }
  }));

Deno.test("--syslog routes verbose lines away from stdout", () =>
  withDir(async (dir) => {
    const input = await tempFile(hvm64.bytes, dir);
    const r = await runOurs(["-i", input, "-o", `${dir}/out`, "-v", "--syslog"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
  }));

Deno.test("xenmig convert is the same command", () =>
  withDir(async (dir) => {
    const input = await tempFile(hvm64.bytes, dir);
    assert.equal((await runOurs(["-i", input, "-o", `${dir}/a`, "-f", "libxl"])).code, 0);
    const r = await run(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}/cli/main.ts`,
      "convert",
      "-i",
      input,
      "-o",
      `${dir}/b`,
      "-f",
      "libxl",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/b`), await Deno.readFile(`${dir}/a`));
  }));
