/**
 * Output safety of every command that writes a file: `save`, `migrate
 * --to FILE` and `convert-legacy-stream -o FILE` write atomically
 * (temporary file beside the target, renamed on success), so a failure
 * leaves nothing behind and an existing target untouched; `verify` and
 * `verify-stream-v2` write no file at all.  Each command is run as a
 * subprocess in a scratch directory, which is listed afterwards (hidden
 * temporary files included).
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import {
  CONVERT_SCRIPT,
  listDir,
  runScript,
  scratchDir,
  VERIFY_SCRIPT,
  XENMIG,
} from "./processes.ts";
import { legacySeeds } from "./seeds.ts";

Deno.test("save: success leaves exactly the target, a valid stream", async () => {
  using dir = scratchDir();
  const r = await runScript(XENMIG, ["save", "--sim", "mem=64M", "out.xl"], dir.path);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(listDir(dir.path), ["out.xl"]);
  const v = await verifyStream(bytesSource(await Deno.readFile(`${dir.path}/out.xl`)), {
    format: "xl",
  });
  assertEquals(v.exitCode, 0);
});

Deno.test("save of a domain that does not exist leaves no file", async () => {
  using dir = scratchDir();
  const r = await runScript(XENMIG, ["save", "--sim", "mem=64M", "77", "out.xl"], dir.path);
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, "xenmig save:");
  assertEquals(listDir(dir.path), []);
});

Deno.test("save over an existing file that fails keeps the old file intact", async () => {
  using dir = scratchDir();
  await Deno.writeTextFile(`${dir.path}/out.xl`, "previous contents");
  const r = await runScript(XENMIG, ["save", "--sim", "mem=64M", "77", "out.xl"], dir.path);
  assertEquals(r.code, 1, r.stderr);
  assertEquals(listDir(dir.path), ["out.xl"]);
  assertEquals(await Deno.readTextFile(`${dir.path}/out.xl`), "previous contents");
});

Deno.test("save into a directory that does not exist creates nothing", async () => {
  using dir = scratchDir();
  const r = await runScript(XENMIG, ["save", "--sim", "mem=64M", "no/such/out.xl"], dir.path);
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, "cannot create");
  assertEquals(listDir(dir.path), []);
});

Deno.test("migrate --to FILE of a domain that does not exist leaves no file", async () => {
  using dir = scratchDir();
  const r = await runScript(
    XENMIG,
    ["migrate", "--sim", "mem=64M", "77", "--to", "out.xl"],
    dir.path,
  );
  assertEquals(r.code, 1, r.stderr);
  assertEquals(listDir(dir.path), []);
});

Deno.test("verify and verify-stream-v2 write no file, on good and bad input", async () => {
  using dir = scratchDir();
  const saved = await runScript(XENMIG, ["save", "--sim", "mem=64M", "good.xl"], dir.path);
  assertEquals(saved.code, 0, saved.stderr);
  const good = await Deno.readFile(`${dir.path}/good.xl`);
  await Deno.writeFile(`${dir.path}/bad.xl`, good.subarray(0, 5000));
  for (
    const [script, args] of [
      [XENMIG, ["verify"]],
      [XENMIG, ["verify", "--strict", "--json"]],
      [VERIFY_SCRIPT, []],
      [VERIFY_SCRIPT, ["-v"]],
    ] as const
  ) {
    for (const input of ["good.xl", "bad.xl", "missing.xl"]) {
      const r = await runScript(script, [...args, "-f", "xl", "-i", input], dir.path);
      assertEquals(r.code, input === "good.xl" ? 0 : 1, `${script} ${input}: ${r.stderr}`);
      assertEquals(listDir(dir.path), ["bad.xl", "good.xl"]);
    }
  }
});

const legacy = await legacySeeds().catch(() => []);
const hvm = legacy.find((s) =>
  s.legacy?.guestType === "hvm" && !s.legacy.xl && s.bytes.length > 50_000
);

Deno.test({
  name: "convert-legacy-stream: success leaves exactly the target",
  ignore: hvm === undefined,
  fn: async () => {
    using dir = scratchDir();
    await Deno.writeFile(`${dir.path}/in.img`, hvm!.bytes);
    const args = ["-i", "in.img", "-o", "out.v2", "-w", String(hvm!.legacy!.width), "-g", "hvm"];
    const r = await runScript(CONVERT_SCRIPT, [...args, "-f", "libxl"], dir.path);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(listDir(dir.path), ["in.img", "out.v2"]);
  },
});

Deno.test({
  name: "convert-legacy-stream: a truncated image leaves no file and an existing target intact",
  ignore: hvm === undefined,
  fn: async () => {
    using dir = scratchDir();
    // Cut inside the page data: the converter has written output by then.
    await Deno.writeFile(`${dir.path}/in.img`, hvm!.bytes.subarray(0, hvm!.bytes.length >> 1));
    const args = ["-i", "in.img", "-w", String(hvm!.legacy!.width), "-g", "hvm", "-f", "libxl"];
    let r = await runScript(CONVERT_SCRIPT, [...args, "-o", "new.v2"], dir.path);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "Stream Error");
    assertEquals(listDir(dir.path), ["in.img"]);

    await Deno.writeTextFile(`${dir.path}/old.v2`, "previous contents");
    r = await runScript(CONVERT_SCRIPT, [...args, "-o", "old.v2"], dir.path);
    assertEquals(r.code, 1, r.stderr);
    assertEquals(listDir(dir.path), ["in.img", "old.v2"]);
    assertEquals(await Deno.readTextFile(`${dir.path}/old.v2`), "previous contents");
  },
});

Deno.test({
  name: "convert-legacy-stream: input that is not a legacy image leaves no file",
  ignore: hvm === undefined,
  fn: async () => {
    using dir = scratchDir();
    await Deno.writeFile(`${dir.path}/in.img`, new Uint8Array(4096).fill(0xa5));
    const r = await runScript(CONVERT_SCRIPT, ["-i", "in.img", "-o", "out.v2"], dir.path);
    assert(r.code === 1 || r.code === 2, r.stderr);
    assertEquals(listDir(dir.path), ["in.img"]);
  },
});

Deno.test("repl history: rewritten atomically; a failed rewrite leaves no temporary file", async () => {
  const { History, HISTORY_SIZE } = await import("../../cli/repl/history.ts");
  using dir = scratchDir();
  const path = `${dir.path}/repl_history`;
  const full = Array.from({ length: HISTORY_SIZE }, (_, i) => `cmd ${i}`).join("\n") + "\n";
  await Deno.writeTextFile(path, full);
  const history = await History.load(path);
  // The history file turns into a directory: the rewrite (trimming to
  // HISTORY_SIZE) cannot replace it.
  await Deno.remove(path);
  await Deno.mkdir(path);
  await Deno.writeTextFile(`${path}/keep`, "x");
  const message = await history.add("one more");
  assert(message !== undefined && message.includes("history not saved"), message);
  assertEquals(listDir(dir.path), ["repl_history"]);

  // And a successful rewrite replaces it whole (a new file renamed over
  // it), never truncating and rewriting the old one in place.
  await Deno.remove(path, { recursive: true });
  await Deno.writeTextFile(path, full);
  const inode = (await Deno.stat(path)).ino;
  const again = await History.load(path);
  assertEquals(await again.add("newest"), undefined);
  assert((await Deno.stat(path)).ino !== inode, "replaced by rename, not rewritten in place");
  assertEquals(listDir(dir.path), ["repl_history"]);
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assertEquals(lines.length, HISTORY_SIZE);
  assertEquals(lines[lines.length - 1], "newest");
});
