/**
 * Descriptor I/O: FdInput's exact reads and look-ahead, FdOutput's ways of
 * moving data (splice, splice through its own pipe, read/write), truncation,
 * and the command without FFI (Deno's I/O) giving the same bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TruncatedError } from "../../lib/errors.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { FdInput } from "../../lib/legacy/fd_input.ts";
import { FdOutput } from "../../lib/legacy/fd_output.ts";
import { libc, O_RDONLY, O_WRONLY, openFd } from "../../lib/legacy/libc.ts";
import { validFixtures } from "./fixtures.ts";
import { OUR_SCRIPT, ROOT, run, tempFile } from "./harness.ts";
import { pattern } from "./legacy_builder.ts";

const c = libc();
const NO_FFI = c === null;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "legacy-fd-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "FdInput: look-ahead is served before the descriptor, reads are exact",
  ignore: NO_FFI,
  fn: () =>
    withDir(async (dir) => {
      const data = pattern(300000);
      const input = new FdInput(c!, openFd(c!, await tempFile(data, dir), O_RDONLY), {
        owned: true,
      });
      assert.deepEqual(await input.peek(70000), data.subarray(0, 70000));
      assert.deepEqual(await input.readExact(10), data.subarray(0, 10));
      assert.deepEqual(await input.readExact(100000), data.subarray(10, 100010)); // Across the look-ahead.
      await input.skip(99990);
      assert.equal(input.offset, 200000);
      const sink = memorySink();
      await input.transferTo(50000, sink, "x"); // Not an FdOutput: read and written.
      assert.deepEqual(sink.bytes(), data.subarray(200000, 250000));
      await assert.rejects(
        () => input.readExact(50001, "tail"),
        (e: unknown) => e instanceof TruncatedError && e.offset === 250000 && e.got === 50000,
      );
      input.close();
    }),
});

Deno.test({
  name: "FdOutput: splice, the pipe relay and read/write each move the bytes",
  ignore: NO_FFI,
  fn: () =>
    withDir(async (dir) => {
      const data = pattern(3 << 20, 3);
      const src = await tempFile(data, dir);
      // File to file: splice through FdOutput's own pipe, 1 MiB at a time.
      // After a look-ahead, so the first octets come from the process and
      // the rest from the descriptor, at offsets that are not page-aligned.
      {
        const out = `${dir}/a`;
        await Deno.writeFile(out, new Uint8Array(0));
        const input = new FdInput(c!, openFd(c!, src, O_RDONLY), { owned: true });
        const sink = new FdOutput(c!, openFd(c!, out, O_WRONLY), { owned: true });
        await input.peek(1000);
        await input.transferTo(data.length, sink, "pages");
        await sink.close();
        input.close();
        assert.deepEqual(await Deno.readFile(out), data);
      }
      // Pipe to pipe and file to pipe: splice (through cat on both sides).
      {
        const r = await run("sh", [
          "-c",
          `cat '${src}' | '${Deno.execPath()}' run -A '${ROOT}/tests/legacy/fd_copy.ts' | cat > '${dir}/b'`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(await Deno.readFile(`${dir}/b`), data);
      }
      // An O_APPEND output takes no splice (nor copy_file_range): what the
      // relay pipe already holds is written with write(2), then read/write.
      {
        const out = `${dir}/d`;
        await Deno.writeFile(out, new Uint8Array([9]));
        const O_APPEND = 0o2000;
        const input = new FdInput(c!, openFd(c!, src, O_RDONLY), { owned: true });
        const sink = new FdOutput(c!, openFd(c!, out, O_WRONLY | O_APPEND), { owned: true });
        await input.transferTo(data.length, sink, "pages");
        await sink.close();
        input.close();
        const bytes = await Deno.readFile(out);
        assert.equal(bytes[0], 9);
        assert.deepEqual(bytes.subarray(1), data);
      }
      // A character device as input: spliced through the relay pipe.
      {
        const out = `${dir}/c`;
        await Deno.writeFile(out, new Uint8Array(0));
        const zero = openFd(c!, "/dev/zero", O_RDONLY);
        const sink = new FdOutput(c!, openFd(c!, out, O_WRONLY), { owned: true });
        assert.equal(await sink.transferFrom(zero, 5 << 20), 5 << 20);
        await sink.close();
        c!.close(zero);
        const bytes = await Deno.readFile(out);
        assert.equal(bytes.length, 5 << 20);
        assert.ok(bytes.every((b) => b === 0));
      }
    }),
});

Deno.test({
  name: "FdInput.transferTo reports a truncation for the whole run",
  ignore: NO_FFI,
  fn: () =>
    withDir(async (dir) => {
      const input = new FdInput(c!, openFd(c!, await tempFile(pattern(5000), dir), O_RDONLY), {
        owned: true,
      });
      await Deno.writeFile(`${dir}/out`, new Uint8Array(0));
      const sink = new FdOutput(c!, openFd(c!, `${dir}/out`, O_WRONLY), { owned: true });
      await input.readExact(1000);
      await assert.rejects(
        () => input.transferTo(8192, sink, "legacy page batch data"),
        (e: unknown) =>
          e instanceof TruncatedError && e.offset === 1000 && e.wanted === 8192 && e.got === 4000,
      );
      await sink.close();
      input.close();
    }),
});

Deno.test("without FFI the command uses Deno's I/O and writes the same bytes", () =>
  withDir(async (dir) => {
    const noFfi = ["run", "--allow-read", "--allow-write", "--allow-run", OUR_SCRIPT];
    for (const f of validFixtures().filter((x) => x.expect.libxl === 0).slice(0, 4)) {
      const input = await tempFile(f.bytes, dir);
      const a = await run(Deno.execPath(), [
        "run",
        "-A",
        OUR_SCRIPT,
        "-i",
        input,
        "-o",
        `${dir}/ffi`,
        "-f",
        "libxl",
      ]);
      const b = await run(Deno.execPath(), [
        ...noFfi,
        "-i",
        input,
        "-o",
        `${dir}/plain`,
        "-f",
        "libxl",
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.deepEqual(
        await Deno.readFile(`${dir}/plain`),
        await Deno.readFile(`${dir}/ffi`),
        f.name,
      );
      const piped = await run("sh", [
        "-c",
        `cat '${input}' | '${Deno.execPath()}' ${
          noFfi.map((x) => `'${x}'`).join(" ")
        } -i 0 -o 1 -f libxl > '${dir}/piped'`,
      ]);
      assert.equal(piped.code, 0, piped.stderr);
      assert.deepEqual(
        await Deno.readFile(`${dir}/piped`),
        await Deno.readFile(`${dir}/ffi`),
        f.name,
      );
    }
  }));
