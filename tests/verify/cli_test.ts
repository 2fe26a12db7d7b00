/**
 * The command-line behaviour of `verify-stream-v2` and `xenmig verify`:
 * usage errors exit 2, unreadable input exits 1 with one clear line, `-q`
 * silences, stdin and descriptors work, malformed input never shows a stack
 * trace.  (Every malformed corpus item is run through the script in
 * `differential_test.ts`.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { pack } from "../support/corpus/bytes.ts";
import { corpus } from "../support/corpus/mod.ts";
import {
  lines,
  OUR_SCRIPT,
  runOurs,
  runProcess,
  runReference,
  XENMIG_MAIN,
} from "../support/corpus/processes.ts";
import { domainHeader, imageHeader, join, libxcSegments } from "../support/corpus/streams.ts";
import { hvmV2Image } from "../support/corpus/valid.ts";
import { xenReference } from "../support/xen_packages.ts";

const dir = await Deno.makeTempDir({ prefix: "xenmig-cli-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const VALID = `${dir}/valid`;
const INVALID = `${dir}/invalid`;
const validBytes = join(libxcSegments(hvmV2Image()));
await Deno.writeFile(VALID, validBytes);
await Deno.writeFile(INVALID, validBytes.subarray(0, 100));

const NO_STACK = /^\s+at |Traceback|Uncaught|error: Uncaught/m;

Deno.test("usage errors exit 2 with the usage line and one error line", async (t) => {
  const ref = await xenReference();
  for (
    const [name, args, message] of [
      ["unknown option", ["--bogus"], "no such option: --bogus"],
      ["unknown short option", ["-x"], "no such option: -x"],
      [
        "format not in the choices",
        ["-f", "json"],
        "invalid choice: 'json' (choose from 'libxc', 'libxl', 'xl')",
      ],
      ["option without its value", ["-f"], "option requires an argument"],
    ] as const
  ) {
    await t.step(name, async () => {
      const r = await runOurs([...args]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      const err = lines(r.stderr);
      assert.deepEqual(err.slice(0, 2), ["Usage: verify-stream-v2 [options]", ""]);
      assert.equal(err.length, 3, r.stderr);
      assert.ok(err[2].startsWith("verify-stream-v2: error: ") && err[2].includes(message), err[2]);
      if (typeof ref !== "string") {
        const x = await runReference(ref, [...args]);
        assert.equal(x.code, 2, "Xen's optparse exits 2 too");
      }
    });
  }
});

Deno.test("--help lists every option and exits 0", async () => {
  const r = await runOurs(["--help"]);
  assert.equal(r.code, 0);
  for (
    const flag of [
      "-i",
      "--in",
      "-v",
      "--verbose",
      "-q",
      "--quiet",
      "-f",
      "--format",
      "--syslog",
      "--strict",
      "--json",
    ]
  ) {
    assert.ok(r.stdout.includes(flag), `help lacks ${flag}`);
  }
});

Deno.test("unreadable input exits 1 with one clear line naming it", async (t) => {
  for (
    const [name, path, why] of [["missing file", `${dir}/no-such-file`, "No such file"], [
      "a directory",
      dir,
      "Is a directory",
    ]]
  ) {
    await t.step(name, async () => {
      const r = await runOurs(["-i", path]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      const err = lines(r.stderr);
      assert.equal(err.length, 1, r.stderr);
      assert.ok(err[0].includes(`'${path}'`) && err[0].includes(why), err[0]);
      assert.doesNotMatch(r.stderr, NO_STACK);
    });
  }
});

Deno.test("-q silences output and errors but keeps the exit code", async () => {
  const good = await runOurs(["-q", "-v", "-i", VALID]);
  assert.deepEqual([good.code, good.stdout, good.stderr], [0, "", ""]);
  const bad = await runOurs(["-q", "-v", "-i", INVALID]);
  assert.deepEqual([bad.code, bad.stdout, bad.stderr], [1, "", ""]);
  const missing = await runOurs(["-q", "-i", `${dir}/no-such-file`]);
  assert.deepEqual([missing.code, missing.stderr], [1, ""]);
});

Deno.test("without -v a valid stream prints nothing; an invalid one prints one line", async () => {
  const good = await runOurs(["-i", VALID]);
  assert.deepEqual([good.code, good.stdout, good.stderr], [0, "", ""]);
  const bad = await runOurs(["-i", INVALID]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.deepEqual(lines(bad.stderr).length, 1);
  assert.match(
    bad.stderr,
    /^Stream Error: Stream truncated \(libxc record 0 \(PAGE_DATA\), offset 48: needed \d+ bytes, got 52\)\n$/,
  );
});

Deno.test("a stream on stdin (-i 0, the default) verifies like a file", async () => {
  const viaFile = await runOurs(["-v", "-i", VALID]);
  const viaStdin = await runOurs(["-v"], { bytes: validBytes, chunk: 1 << 20, pauseMs: 0 });
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  assert.equal(viaStdin.stdout, viaFile.stdout);
  const viaFd = await runOurs(["-v", "-i", "0"], { bytes: validBytes, chunk: 4096, pauseMs: 0 });
  assert.equal(viaFd.stdout, viaFile.stdout);
});

Deno.test("-i with a descriptor number reads that descriptor", async () => {
  const viaFile = await runOurs(["-v", "-i", VALID]);
  const r = await runProcess("sh", [
    "-c",
    'exec "$0" run -A "$1" -v -i 3 3<"$2"',
    Deno.execPath(),
    OUR_SCRIPT,
    VALID,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, viaFile.stdout);
  assert.notEqual(r.stdout, "");
});

Deno.test("a record claiming a 4 GiB body ends in one line, not an allocation or a stack trace", async () => {
  const path = `${dir}/huge-claim`;
  await Deno.writeFile(
    path,
    new Uint8Array([
      ...imageHeader(),
      ...domainHeader(),
      ...pack("<II", 1, 0xfffffff0),
      ...new Uint8Array(52),
    ]),
  );
  const r = await runOurs(["-i", path]);
  assert.equal(r.code, 1);
  const err = lines(r.stderr);
  assert.equal(err.length, 1, r.stderr);
  assert.match(err[0], /^Stream Error: .*(Stream truncated|exceeds the \d+-byte limit).*offset 48/);
});

Deno.test("malformed input never produces a stack trace, also with --strict and --json", async () => {
  const bad = corpus().filter((i) => i.expect.exitCode === 1).filter((_, n) => n % 9 === 0);
  assert.ok(bad.length >= 10);
  await Promise.all(bad.map(async (it) => {
    const path = `${dir}/${it.name}`;
    await Deno.writeFile(path, it.bytes);
    const r = await runOurs(["--strict", "--json", "-f", it.format, "-i", path]);
    assert.equal(r.code, 1, it.name);
    const err = lines(r.stderr).filter((l) => !l.startsWith("Warning: "));
    assert.equal(err.length, 1, `${it.name}: ${r.stderr}`);
    assert.match(err[0], /^Stream Error: /);
    assert.doesNotMatch(r.stderr, NO_STACK);
    assert.equal(JSON.parse(r.stdout).valid, false);
  }));
});

Deno.test("xenmig verify is the same command as the drop-in script", async () => {
  const args = ["-v", "-f", "libxc", "-i", VALID];
  const [script, sub] = await Promise.all([
    runOurs(args),
    runProcess(Deno.execPath(), ["run", "-A", XENMIG_MAIN, "verify", ...args]),
  ]);
  assert.equal(sub.code, 0);
  assert.equal(sub.stdout, script.stdout);
  const usage = await runProcess(Deno.execPath(), ["run", "-A", XENMIG_MAIN, "verify", "--bogus"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^Usage: xenmig verify \[options\]/);
});

Deno.test("--syslog sends -v lines to syslog, not stdout", async () => {
  const r = await runOurs(["--syslog", "-v", "-i", VALID]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "");
});
