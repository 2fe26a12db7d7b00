/**
 * Unit tests of the initramfs writer: read the archive back and check what
 * the kernel's unpacker relies on (newc headers, 4-byte alignment, parents
 * before children, the trailer).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CpioArchive } from "./cpio.ts";

interface Member {
  name: string;
  mode: number;
  rdev: [number, number];
  data: Uint8Array;
}

function read(bytes: Uint8Array): Member[] {
  const text = new TextDecoder();
  const out: Member[] = [];
  let off = 0;
  for (;;) {
    assert.equal(off % 4, 0, "headers are 4-byte aligned");
    const head = text.decode(bytes.subarray(off, off + 110));
    assert.equal(head.slice(0, 6), "070701");
    const field = (i: number) => parseInt(head.slice(6 + 8 * i, 14 + 8 * i), 16);
    const size = field(6), nameSize = field(11);
    const name = text.decode(bytes.subarray(off + 110, off + 110 + nameSize - 1));
    off += 110 + nameSize;
    off += (4 - (off % 4)) % 4;
    const data = bytes.subarray(off, off + size);
    off += size + ((4 - (size % 4)) % 4);
    if (name === "TRAILER!!!") return out;
    out.push({ name, mode: field(1), rdev: [field(9), field(10)], data });
  }
}

Deno.test("cpio: members read back, parents first, devices and links", async () => {
  const a = new CpioArchive();
  a.addFile("/usr/local/bin/tool", new TextEncoder().encode("abcde"), 0o755);
  a.addSymlink("/bin/sh", "busybox");
  a.addCharDevice("/dev/console", 5, 1);
  a.addDirectory("/usr-local");
  const members = read(await a.toBytes());
  assert.deepEqual(members.map((m) => m.name), [
    "bin",
    "bin/sh",
    "dev",
    "dev/console",
    "usr",
    "usr/local",
    "usr/local/bin",
    "usr/local/bin/tool",
    "usr-local",
  ]);
  const tool = members.find((m) => m.name === "usr/local/bin/tool")!;
  assert.equal(tool.mode, 0o100755);
  assert.equal(new TextDecoder().decode(tool.data), "abcde");
  assert.equal(new TextDecoder().decode(members[1].data), "busybox");
  assert.equal(members[3].mode, 0o020600);
  assert.deepEqual(members[3].rdev, [5, 1]);
});

Deno.test("cpio: a path cannot be both a file and a directory, nor escape the root", () => {
  const a = new CpioArchive();
  a.addFile("/etc/passwd", new Uint8Array(1));
  assert.throws(() => a.addFile("/etc/passwd/x", new Uint8Array(1)), RangeError);
  assert.throws(() => a.addDirectory("/etc/passwd"), RangeError);
  assert.throws(() => a.addFile("/../x", new Uint8Array(1)), RangeError);
});

Deno.test("cpio: the same entries give the same bytes", async () => {
  const build = () => {
    const a = new CpioArchive();
    a.addFile("/b", new Uint8Array([1, 2, 3]));
    a.addFile("/a", new Uint8Array([4]));
    return a.toBytes();
  };
  assert.deepEqual(await build(), await build());
});
