/**
 * Restore on the simulator: non-live save/restore round trips in every
 * outer format (detected on restore), and streams that lie — each refused
 * with a clear error, the half-built domain destroyed, nothing written
 * outside it (the simulator's process-wide out-of-range counter stays put,
 * a bystander guest keeps every page) — or, where the spec says so,
 * tolerated.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compareMemory } from "../../lib/engine/compare_memory.ts";
import { restoreStream } from "../../lib/engine/restore.ts";
import { SAVED_HVM_PARAMS, SaveSession } from "../../lib/engine/save_session.ts";
import {
  concat,
  libxcEnd,
  streamEpilogue,
  streamPrologue,
} from "../../lib/engine/stream_layers.ts";
import { StreamError } from "../../lib/errors.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { DHDR_TYPE, PAGE_SIZE, REC_TYPE } from "../../lib/libxc/constants.ts";
import { encodeDomainHeader } from "../../lib/libxc/domain_header.ts";
import { encodeImageHeader } from "../../lib/libxc/image_header.ts";
import { encodePageData } from "../../lib/libxc/page_data.ts";
import { encodeLibxcRecord, type HvmParam } from "../../lib/libxc/records.ts";
import { encodeRecord, RECORD_HEADER_SIZE } from "../../lib/record_header.ts";
import { PROT_READ } from "../../lib/xen/constants.ts";
import {
  assertGuestLeftRunning,
  assertOurVerifierAccepts,
  simSession,
  xenVerifierAccepts,
} from "./_support.ts";

const session = await simSession("mem=64M,vcpus=2");
const { hv, sim } = session;
globalThis.addEventListener("unload", () => session.close());

for (const format of ["xl", "libxl", "libxc"] as const) {
  Deno.test(`non-live save and restore round trip, ${format} format detected on restore`, async () => {
    const src = sim.createDomain("mem=64M,vcpus=2,rate=20000,pattern=uniform");
    const out = memorySink();
    const save = new SaveSession(hv, src, out, { live: false, format });
    const stats = await save.run();
    assert.equal(stats.iterations.length, 1);
    // Non-live, the one pass runs with the guest stopped: it is all downtime.
    const d = stats.downtime!;
    assert.equal(d.pages, stats.iterations[0].pagesSent);
    assert.equal(stats.totalPages, d.pages, "the one pass counted once");
    assert.ok(d.pagesMs >= stats.iterations[0].durationMs, "the pass is in the downtime");
    const parts = d.suspendMs + d.pagesMs + d.tailMs;
    assert.ok(parts <= d.ms + 1e-6 && parts >= d.ms - 1, `${parts} ms of parts in ${d.ms} ms`);
    const paused = sim.stats(src).generation;
    const stream = out.bytes();
    await assertOurVerifierAccepts(stream, format);
    const xen = xenVerifierAccepts(stream, format);
    const logs: string[] = [];
    // Only the xl header carries the domain's configuration; for the inner
    // layers the vcpus are given, as `xl restore` takes them from its config.
    const r = await restoreStream(hv, bytesSource(stream), {
      log: (l) => logs.push(l),
      vcpus: format === "xl" ? undefined : 2,
    });
    assert.equal(r.bytes, stream.length);
    // Xen 4.17's own order, which the engine keeps, is the one spec deviation.
    assert.deepEqual(r.warnings.map((w) => w.message.split(":")[0]), [
      "HVM_CONTEXT precedes HVM_PARAMS",
    ]);
    assert.deepEqual(logs, []);
    const dom = hv.domain(r.domid).info();
    assert.equal(dom.paused, true, "restored domains stay paused unless asked");
    assert.equal(dom.maxVcpuId, 1);
    const cmp = compareMemory(hv, src, r.domid);
    assert.ok(cmp.pages > 16000);
    assert.deepEqual([cmp.mismatches, cmp.missing], [0, 0]);
    assert.equal(sim.stats(src).generation, paused);
    assert.deepEqual(sim.verifyDomain(r.domid), { bad: 0 });
    assert.equal(
      hv.domain(r.domid).hvmParam(SAVED_HVM_PARAMS[0]),
      hv.domain(src).hvmParam(SAVED_HVM_PARAMS[0]),
    );
    save.resumeSource();
    await assertGuestLeftRunning(session, src);
    await xen;
    hv.domain(r.domid).destroy();
    sim.destroyDomain(src);
  });
}

// ---------------------------------------------------------------------------
// Streams built record by record from a real (simulated) guest's state.

/** A quiet guest whose first pages carry stamps: the material of the streams. */
const model = sim.createDomain("mem=64M,vcpus=1");
const MODEL_PFNS = [0, 1, 2, 3, 0x100, 0x101, 0x2000, 0x3fff];
sim.writePages(model, MODEL_PFNS);
const modelDom = hv.domain(model);

function pagesOf(pfns: number[]): Uint8Array {
  const m = hv.foreignMemory.map(model, pfns, PROT_READ);
  try {
    return m.all().slice();
  } finally {
    m.release();
  }
}

const policy = modelDom.cpuPolicy();
const R = {
  cpuid: encodeLibxcRecord({ type: REC_TYPE.X86_CPUID_POLICY, leaves: policy.leaves }),
  msr: encodeLibxcRecord({ type: REC_TYPE.X86_MSR_POLICY, msrs: policy.msrs }),
  staticEnd: encodeLibxcRecord({ type: REC_TYPE.STATIC_DATA_END }),
  pages: (pfns = MODEL_PFNS) => encodePageData(pfns, pfns.map(() => 0), pagesOf(pfns)),
  tsc: (() => {
    const t = modelDom.tscInfo();
    return encodeLibxcRecord({
      type: REC_TYPE.X86_TSC_INFO,
      mode: t.mode,
      khz: t.gtscKhz,
      nsec: t.elapsedNsec,
      incarnation: t.incarnation,
      reserved: 0,
    });
  })(),
  context: encodeLibxcRecord({ type: REC_TYPE.HVM_CONTEXT, data: modelDom.hvmContext() }),
  params: (() => {
    const params: HvmParam[] = [];
    for (const index of SAVED_HVM_PARAMS) {
      const value = modelDom.hvmParam(index);
      if (value !== 0n) params.push({ index: BigInt(index), value });
    }
    return encodeLibxcRecord({ type: REC_TYPE.HVM_PARAMS, reserved: 0, params });
  })(),
  end: libxcEnd(),
};

/** A libxc image (headers and `records`). */
function libxc(records: Uint8Array[], version = 3): Uint8Array {
  return concat([
    encodeImageHeader({ version }),
    encodeDomainHeader({ type: DHDR_TYPE.X86_HVM, xenMajor: 4, xenMinor: 17 }),
    ...records,
  ]);
}

/** The same image behind an xl header and inside a libxl stream. */
function xl(image: Uint8Array): Uint8Array {
  const config = JSON.stringify({ b_info: { max_vcpus: 1, max_memkb: 65536 } });
  return concat([streamPrologue("xl", config), image, streamEpilogue("xl")]);
}

const GOOD = [R.cpuid, R.msr, R.staticEnd, R.pages(), R.tsc, R.context, R.params, R.end];

/** A guest that must come through every hostile restore untouched. */
const bystander = sim.createDomain("mem=64M,vcpus=1");
sim.writePages(bystander, [0, 5, 0x2000]);

interface Snapshot {
  domains: number[];
  outOfRange: number;
  mappings: number;
  buffers: number;
  bystanderWrites: number;
}

function snapshot(): Snapshot {
  const g = sim.globalStats();
  return {
    domains: hv.domains().map((d) => d.domid),
    outOfRange: g.outOfRangeTotal,
    mappings: g.mappingsLive,
    buffers: g.hypercallBuffersLive,
    bystanderWrites: sim.stats(bystander).writes,
  };
}

/** Restores `bytes`, which must fail with `message`; nothing may be left or touched. */
async function assertRefused(bytes: Uint8Array, message: RegExp): Promise<Error> {
  const before = snapshot();
  const err = await restoreStream(hv, bytesSource(bytes)).then(
    (r) => assert.fail(`restored as domain ${r.domid}`),
    (e: Error) => e,
  );
  // What the CLI prints: the message, then the record and its offset.
  const line = err instanceof StreamError ? err.describe() : err.message;
  assert.match(line, message);
  assert.doesNotMatch(line, /\n/, "one line");
  assert.deepEqual(
    snapshot(),
    before,
    "a domain, mapping or buffer left behind, or a stray access",
  );
  assert.deepEqual(sim.verifyDomain(bystander), { bad: 0 });
  return err;
}

/** Restores `bytes`, which must succeed; returns the log lines, destroys the domain. */
async function assertRestores(bytes: Uint8Array): Promise<string[]> {
  const before = snapshot();
  const logs: string[] = [];
  const r = await restoreStream(hv, bytesSource(bytes), { log: (l) => logs.push(l) });
  const dst = r.domid;
  assert.equal(r.pages, MODEL_PFNS.length);
  const m = hv.foreignMemory.map(dst, MODEL_PFNS, PROT_READ);
  try {
    assert.deepEqual(m.all(), pagesOf(MODEL_PFNS));
  } finally {
    m.release();
  }
  assert.deepEqual(sim.verifyDomain(dst), { bad: 0 });
  hv.domain(dst).destroy();
  assert.deepEqual(snapshot(), before);
  return logs;
}

Deno.test("hand-built streams: the well-formed one restores (xl and bare libxc)", async () => {
  assert.deepEqual(await assertRestores(xl(libxc(GOOD))), []);
  assert.deepEqual(await assertRestores(libxc(GOOD)), []);
  await assertOurVerifierAccepts(xl(libxc(GOOD)), "xl");
});

Deno.test("restore refuses a pfn beyond the domain's limit, before mapping anything", async () => {
  // 64 MiB guest: the limit is 4 GiB of pfn space (0x100000).
  const beyond = [0, 1, 0x100000];
  const bad = encodePageData(beyond, [0, 0, 0], new Uint8Array(3 * PAGE_SIZE));
  await assertRefused(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, bad, R.end])),
    /pfn\[2\] 0x100000 is beyond the domain's limit 0x100000 \(libxc record 3 \(PAGE_DATA\), offset \d+\)/,
  );
  const far = encodePageData([2 ** 40], [0], new Uint8Array(PAGE_SIZE));
  await assertRefused(libxc([R.staticEnd, far, R.end]), /pfn\[0\] 0x10000000000 is beyond/);
});

Deno.test("the out-of-range counter sees a stray access, and keeps it once the domain is gone", () => {
  // The control for the checks in this file: an access beyond a domain's
  // range is counted process-wide, so a restore that strayed and then
  // destroyed its domain could not hide it.
  const before = snapshot();
  const victim = sim.createDomain("mem=64M");
  const m = hv.foreignMemory.map(victim, [0, 0x3fffff], PROT_READ);
  assert.deepEqual([m.ok(0), m.ok(1)], [true, false]);
  m.release();
  sim.destroyDomain(victim);
  const after = snapshot();
  assert.equal(after.outOfRange, before.outOfRange + 1);
  assert.deepEqual(after.domains, before.domains);
});

Deno.test("restore refuses PAGE_DATA whose count and length disagree", async () => {
  const rec = R.pages([0, 1, 2]);
  // count says 4 pfns; the body holds 3 entries and 3 pages.
  const more = rec.slice();
  new DataView(more.buffer).setUint32(RECORD_HEADER_SIZE, 4, true);
  await assertRefused(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, more, R.end])),
    /^Expected 8 \+ 32 \+ 16384, got 12320 \(libxc record 3 \(PAGE_DATA\)/,
  );
  // count says 2: a page of data too many.
  const fewer = rec.slice();
  new DataView(fewer.buffer).setUint32(RECORD_HEADER_SIZE, 2, true);
  await assertRefused(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, fewer, R.end])),
    /^Expected 8 \+ 16 \+ 8192, got 12320 \(libxc record 3 \(PAGE_DATA\)/,
  );
  // A page of data missing at the end (length cut, count kept).
  const body = rec.subarray(RECORD_HEADER_SIZE);
  const short = encodeRecord(REC_TYPE.PAGE_DATA, body.subarray(0, body.length - PAGE_SIZE));
  await assertRefused(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, short, R.end])),
    /^Expected 8 \+ 24 \+ 12288, got 8224 \(libxc record 3 \(PAGE_DATA\)/,
  );
});

Deno.test("restore refuses records out of order: PAGE_DATA before STATIC_DATA_END in v3", async () => {
  await assertRefused(
    xl(libxc([R.cpuid, R.msr, R.pages(), R.staticEnd, R.end])),
    /PAGE_DATA record before STATIC_DATA_END/,
  );
  await assertRefused(
    xl(libxc([R.cpuid, R.staticEnd, R.msr, R.pages(), R.end])),
    /X86_MSR_POLICY record after STATIC_DATA_END/,
  );
  await assertRefused(
    xl(libxc([R.staticEnd, R.pages(), R.staticEnd, R.end])),
    /second STATIC_DATA_END/,
  );
});

Deno.test("restore refuses a stream truncated at any of its layers", async () => {
  const whole = xl(libxc(GOOD));
  const prologue =
    streamPrologue("xl", JSON.stringify({ b_info: { max_vcpus: 1, max_memkb: 65536 } })).length;
  const image = prologue + 24 + 16; // image and domain headers
  const pagesAt = image + R.cpuid.length + R.msr.length + R.staticEnd.length;
  const cuts: [string, number][] = [
    ["inside the xl header", 20],
    ["inside the libxl header", prologue - 20],
    ["inside the image header", prologue + 10],
    ["inside a record header", image + 4],
    ["inside a PAGE_DATA record", pagesAt + 3 * PAGE_SIZE],
    ["inside the HVM_PARAMS record", whole.length - 16 - 8],
    ["before the libxc END", whole.length - 16],
    ["before the libxl END", whole.length - 8],
  ];
  for (const [where, at] of cuts) {
    const err = await assertRefused(
      whole.subarray(0, at),
      /^Stream truncated \((xl|libxl|libxc) .*, offset \d+: needed \d+ bytes, got \d+\)$/,
    );
    assert.ok(err instanceof StreamError, `${where}: ${err.name}: ${err.message}`);
  }
});

Deno.test("restore refuses an unknown mandatory record and ignores an unknown optional one", async () => {
  const unknown = encodeRecord(0x0000abcd, new Uint8Array(16));
  await assertRefused(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, unknown, R.pages(), R.end])),
    /unknown mandatory record type 0xabcd/,
  );
  const optional = encodeRecord(0x8000abcd, new Uint8Array(16).fill(7));
  const logs = await assertRestores(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, optional, R.pages(), R.tsc, R.context, R.end])),
  );
  assert.equal(logs.length, 1);
  assert.match(logs[0], /ignoring optional record type 0x8000abcd/);
});

Deno.test("restore tolerates a zero-content HVM_PARAMS record (errata)", async () => {
  const empty = encodeRecord(REC_TYPE.HVM_PARAMS, new Uint8Array(0));
  const logs = await assertRestores(
    xl(libxc([R.cpuid, R.msr, R.staticEnd, R.pages(), R.tsc, R.context, empty, R.end])),
  );
  assert.deepEqual(logs.map((l) => l.replace(/offset \d+/, "offset N")), [
    "ignoring zero-length HVM_PARAMS record at offset N (errata)",
  ]);
});

Deno.test("restore infers STATIC_DATA_END in a v2 stream at its first PAGE_DATA", async () => {
  // Xen 4.13 and older wrote v2: no STATIC_DATA_END, no CPU policy records.
  const v2 = libxc([
    R.pages([0, 1, 2, 3]),
    R.pages([0x100, 0x101, 0x2000, 0x3fff]),
    R.tsc,
    R.context,
    R.params,
    R.end,
  ], 2);
  assert.deepEqual(await assertRestores(xl(v2)), []);
  assert.deepEqual(await assertRestores(v2), []);
  // The same records in v3 lack their STATIC_DATA_END.
  await assertRefused(xl(libxc([R.pages(), R.end], 3)), /PAGE_DATA record before STATIC_DATA_END/);
});
