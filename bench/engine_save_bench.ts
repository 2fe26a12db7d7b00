/**
 * Benchmark for issue 5 (a): a non-live save of a paused 2 GiB simulated
 * guest whose every page holds data, against the limit — mapping the same
 * pages in the same batches (1024 pfns) and writing them to the same
 * sink, nothing else.  Two sinks: /dev/null (no copy: the cost of mapping,
 * record building and the engine itself) and a file on tmpfs (/dev/shm: the
 * kernel copies every byte).  Best of three, all in this run.
 *
 * Target: save throughput >= 0.5x the raw read.
 *
 * @module
 */

import { dataPfnBatches } from "../lib/engine/data_pfns.ts";
import { SaveSession } from "../lib/engine/save_session.ts";
import { fileSink } from "../lib/io/byte_sink.ts";
import { PAGE_SIZE } from "../lib/libxc/constants.ts";
import { PROT_READ } from "../lib/xen/constants.ts";
import { openHypervisor } from "../lib/xen/open.ts";
import { table } from "./support.ts";

const MEM = "2G";
const RUNS = 3;

using session = await openHypervisor({ sim: `mem=${MEM},vcpus=1` });
const hv = session.hv;
const sim = session.sim!;
const domid = session.domid!;
const dom = hv.domain(domid);

// Every page with data gets a stamp (so it really holds data), then the guest is paused.
const p2m = dom.maxGpfn() + 1;
const dataPfns = [...dataPfnBatches(dom)].flat();
for (let at = 0; at < dataPfns.length; at += 65536) {
  sim.writePages(domid, dataPfns.slice(at, at + 65536));
}
dom.pause();
const bytes = dataPfns.length * PAGE_SIZE;
console.log(
  `guest: ${MEM} simulated HVM, ${dataPfns.length} pages with data (${
    (bytes / 2 ** 30).toFixed(2)
  } GiB), p2m ${p2m} pfns, paused`,
);

/** The sink under test, opened fresh per run. */
async function openSink(kind: "null" | "tmpfs"): Promise<{ file: Deno.FsFile; path: string }> {
  const path = kind === "null" ? "/dev/null" : `/dev/shm/xenmig-bench-${Deno.pid}.save`;
  return { file: await Deno.open(path, { write: true, create: true, truncate: true }), path };
}

async function cleanup(path: string): Promise<void> {
  if (path !== "/dev/null") await Deno.remove(path).catch(() => {});
}

/** The save: SaveSession, non-live, xl format, into the sink. */
async function save(kind: "null" | "tmpfs"): Promise<{ seconds: number; streamBytes: number }> {
  const { file, path } = await openSink(kind);
  const t0 = performance.now();
  const stats = await new SaveSession(hv, domid, fileSink(file), { live: false }).run();
  const seconds = (performance.now() - t0) / 1000;
  file.close();
  await cleanup(path);
  if (stats.totalPages !== dataPfns.length) {
    throw new Error(`saved ${stats.totalPages} pages, expected ${dataPfns.length}`);
  }
  return { seconds, streamBytes: stats.totalBytes };
}

/** The limit: the same pfns in the same batches, mapped and written out, nothing else. */
async function raw(kind: "null" | "tmpfs"): Promise<{ seconds: number }> {
  const { file, path } = await openSink(kind);
  const sink = fileSink(file);
  const t0 = performance.now();
  for (const pfns of dataPfnBatches(dom)) {
    const m = hv.foreignMemory.map(domid, pfns, PROT_READ);
    try {
      await sink.write(m.all());
    } finally {
      m.release();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  file.close();
  await cleanup(path);
  return { seconds };
}

const rows = [["sink", "what", "seconds", "GiB/s", "save / raw"]];
const verdicts: string[] = [];
for (const kind of ["null", "tmpfs"] as const) {
  let bestSave = Infinity, bestRaw = Infinity;
  for (let i = 0; i < RUNS; i++) {
    bestRaw = Math.min(bestRaw, (await raw(kind)).seconds);
    bestSave = Math.min(bestSave, (await save(kind)).seconds);
  }
  const ratio = bestRaw / bestSave;
  const sinkName = kind === "null" ? "/dev/null" : "tmpfs file";
  rows.push([
    sinkName,
    "raw map+write",
    bestRaw.toFixed(3),
    (bytes / bestRaw / 2 ** 30).toFixed(2),
    "-",
  ]);
  rows.push([
    sinkName,
    "xenmig save",
    bestSave.toFixed(3),
    (bytes / bestSave / 2 ** 30).toFixed(2),
    `${ratio.toFixed(2)}x`,
  ]);
  verdicts.push(
    `${sinkName}: save at ${ratio.toFixed(2)}x the raw read (target >= 0.5x): ${
      ratio >= 0.5 ? "MET" : "MISSED"
    }`,
  );
}
console.log(table(rows));
for (const v of verdicts) console.log(v);
dom.unpause();
