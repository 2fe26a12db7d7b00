/**
 * Benchmark for issue 3: convert a generated legacy image of >= 1 GiB (a
 * 64-bit HVM guest, 1024-page batches) to libxl with xenmig's
 * `convert-legacy-stream`, with Xen 4.17's Python script, and copy the same
 * bytes with `cp` — in one run, file to file and pipe to pipe — and report
 * throughput, ratios and peak RSS.  Outputs of both converters are compared
 * (SHA-256) so the numbers are for identical work.
 *
 * Targets: >= 2x Xen's script and >= 0.7x `cp`.
 *
 * Run: `deno run -A bench/convert_bench.ts [GiB]` (default 1).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BufferedWriter } from "../lib/io/buffered_writer.ts";
import { writerSink } from "../lib/io/byte_sink.ts";
import { xenReference } from "../tests/support/xen_packages.ts";
import {
  hvmContext,
  LegacyImageBuilder,
  pattern,
  physmapToolstack,
} from "../tests/legacy/legacy_builder.ts";
import { best, measure, type Run, sh, table } from "./support.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const dir = join(root, ".cache", "bench");
await Deno.mkdir(dir, { recursive: true });

const gib = Number(Deno.args[0] ?? "1");
const BATCH = 1024;
const batches = Math.ceil((gib * 2 ** 30) / (BATCH * 4096));

/** Writes a 64-bit HVM legacy image of `batches` full batches (streamed, not held in memory). */
async function writeImage(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const out = new BufferedWriter(writerSink(file), 8 << 20);
  const head = new LegacyImageBuilder(64).p2mSize(batches * BATCH).vcpuInfo(1, [0, 1])
    .hvmParam(-3, 0xfeffcn).hvmParam(-8, 0xfeffbn).tscInfo(0, 123456789n, 2400000, 1)
    .toolstack(physmapToolstack(64, [{
      phys: 0xf0000000n,
      start: 0xf0000000n,
      size: 0x800000n,
      name: new TextEncoder().encode("vga.vram\0"),
    }]));
  await out.write(head.build());
  const pages = new Uint8Array(BATCH * 4096);
  for (let at = 0; at < pages.length; at += 65536) {
    crypto.getRandomValues(pages.subarray(at, at + 65536));
  }
  const words = new Uint8Array(4 + BATCH * 8);
  const v = new DataView(words.buffer);
  const pv = new DataView(pages.buffer);
  v.setInt32(0, BATCH, true);
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < BATCH; i++) {
      const pfn = b * BATCH + i;
      v.setBigUint64(4 + i * 8, BigInt(pfn), true);
      pv.setUint32(i * 4096, pfn, true); // Pages differ from batch to batch.
    }
    await out.write(words);
    await out.write(pages);
  }
  const tail = new LegacyImageBuilder(64).end()
    .hvmTail({ ioreq: 0xfeff1n, bufioreq: 0xfeff2n, store: 0xfeffdn, context: hvmContext(2) })
    .qemu(pattern(300000));
  await out.write(tail.build());
  await out.close();
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using f = await Deno.open(path);
  const buf = new Uint8Array(8 << 20);
  for (let n; (n = f.readSync(buf)) !== null;) hash.update(buf.subarray(0, n));
  return hash.digest("hex");
}

const image = join(dir, `legacy-hvm64-${gib}g.img`);
if (!existsSync(image)) {
  console.log(`writing ${image} ...`);
  await writeImage(image);
}
const size = (await Deno.stat(image)).size;
const outFile = join(dir, "convert-out.bin");
const deno = sh(Deno.execPath());
const ours = `${deno} run -A ${sh(join(root, "scripts/convert-legacy-stream.ts"))} -f libxl`;
const ref = await xenReference();
const python = typeof ref === "string"
  ? undefined
  : `env PYTHONPATH=${sh(ref.pythonPath)} python3 ${
    sh(ref.convertLegacyStream)
  } -f libxl -w 64 -g hvm`;
if (!python) console.log(`Xen reference unavailable (${ref}): Xen rows skipped`);

// Same output from both converters, or the comparison means nothing.
const rm = `rm -f ${sh(outFile)}`;
await best(1, `${ours} -i ${sh(image)} -o ${sh(outFile)}`);
const ourHash = await sha256(outFile);
if (python) {
  await best(1, `${rm}; ${python} -i ${sh(image)} -o ${sh(outFile)}`);
  const xenHash = await sha256(outFile);
  console.log(
    `outputs ${ourHash === xenHash ? "identical" : "DIFFER"} (sha256 ${ourHash.slice(0, 16)}...)`,
  );
  if (ourHash !== xenHash) Deno.exit(1);
}

const N = Number(Deno.env.get("BENCH_RUNS") ?? "5");

/** One benchmarked command. */
interface Case {
  tool: "cp" | "cp+fsync" | "xen" | "xenmig";
  io: "file" | "pipe";
  cmd: string;
}
const cases: Case[] = [
  { tool: "cp", io: "file", cmd: `cp ${sh(image)} ${sh(outFile)}` },
  // For reference: what durability would cost.  Neither cp's output nor ours
  // (atomic: a temporary file renamed on success) is fsync'ed.
  { tool: "cp+fsync", io: "file", cmd: `cp ${sh(image)} ${sh(outFile)} && sync ${sh(outFile)}` },
  { tool: "xen", io: "file", cmd: `${python} -i ${sh(image)} -o ${sh(outFile)}` },
  { tool: "xenmig", io: "file", cmd: `${ours} -i ${sh(image)} -o ${sh(outFile)}` },
  { tool: "cp", io: "pipe", cmd: `cat ${sh(image)} | cp /dev/stdin /dev/stdout | cat >/dev/null` },
  { tool: "xen", io: "pipe", cmd: `cat ${sh(image)} | ${python} -i 0 -o 1 | cat >/dev/null` },
  { tool: "xenmig", io: "pipe", cmd: `cat ${sh(image)} | ${ours} -i 0 -o 1 | cat >/dev/null` },
].filter((c) => python || c.tool !== "xen") as Case[];

// Same raised priority for every tool when allowed: on a shared machine it
// cuts the noise without favouring anyone.
const nice = (await measure("nice -n -10 true")).code === 0 ? "nice -n -10 " : "";

// Round robin, best of N each: a machine whose load changes during the run
// then slows every tool alike instead of whichever ran at the worst time.
await best(1, `cat ${sh(image)} >/dev/null`); // Warm the page cache.
const bestRun = new Map<Case, Run>();
const rss = new Map<Case, number>();
for (let i = 0; i < N; i++) {
  for (const c of cases) {
    // Not timed: remove the previous output and write back dirty pages, so
    // each run creates its file and pays for nobody else's writeback.
    if (c.io === "file") await measure(`${rm}; sync`);
    const m = await measure(`${nice}${c.cmd}`);
    rss.set(c, Math.max(rss.get(c) ?? 0, m.maxRssKiB));
    const b = bestRun.get(c);
    if (!b || m.seconds < b.seconds) bestRun.set(c, m);
  }
}
await Deno.remove(outFile).catch(() => {});

const rows: string[][] = [["tool", "io", "seconds", "GB/s", "vs cp", "vs Xen", "RSS MiB", "exit"]];
const seconds = (tool: string, io: string) => {
  const c = cases.find((x) => x.tool === tool && x.io === io);
  const r = c && bestRun.get(c);
  return r && r.code === 0 ? r.seconds : undefined;
};
for (const c of cases) {
  const r = bestRun.get(c)!;
  const cp = seconds("cp", c.io);
  const xen = seconds("xen", c.io);
  rows.push([
    c.tool,
    c.io,
    r.seconds.toFixed(3),
    (size / r.seconds / 1e9).toFixed(2),
    cp && !c.tool.startsWith("cp") ? (cp / r.seconds).toFixed(2) + "x" : "-",
    xen && c.tool === "xenmig" ? (xen / r.seconds).toFixed(2) + "x" : "-",
    ((rss.get(c) ?? 0) / 1024).toFixed(0),
    String(r.code),
  ]);
}

console.log(
  `convert-legacy-stream -f libxl on a ${(size / 2 ** 30).toFixed(2)} GiB legacy image ` +
    `(64-bit HVM, ${batches} batches of ${BATCH} pages), best of ${N} round robin; file runs start after sync`,
);
console.log(table(rows));
console.log(
  `xenmig moves page data inside the kernel (splice / copy_file_range) when FFI is allowed; ` +
    `priority: ${nice ? "nice -10 for every tool" : "default"}`,
);
