/**
 * `--strict`: each rule beyond Xen's checks catches the fault it is for, with
 * a clear message and the offset of the record at fault, and accepts every
 * stream the corpus marks valid under strict.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StreamError } from "../../lib/errors.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { concat, text } from "../support/corpus/bytes.ts";
import { corpus } from "../support/corpus/mod.ts";
import { lines, runOurs } from "../support/corpus/processes.ts";
import {
  checkpoint,
  checkpointEnd,
  checkpointState,
  cpuidPolicy,
  EMULATOR,
  emulatorContext,
  emulatorXenstoreData,
  HVM_SAVE,
  HVM_SAVE_END,
  hvmBlob,
  hvmContext,
  hvmContextBlob,
  hvmParams,
  hvmSaveHeader,
  libxcEnd,
  libxlEnd,
  msrPolicy,
  p2mFrames,
  PAGE,
  pageData,
  pfnRange,
  pvInfo,
  pvVcpu,
  qemuState,
  type Rec,
  sharedInfo,
  staticDataEnd,
  tagged,
  tscInfo,
  TYPICAL_CPUID,
  TYPICAL_HVM_PARAMS,
  TYPICAL_MSRS,
  xenstorePairs,
} from "../support/corpus/records.ts";
import {
  DOMAIN,
  type ImageSpec,
  join,
  libxcSegments,
  type LibxlEntry,
  libxlSegments,
  offsetOf,
  type Segment,
  XL_FLAG,
  xlConfig,
  xlSegments,
} from "../support/corpus/streams.ts";
import type { CorpusFormat } from "../support/corpus/types.ts";
import { hvmImage, hvmV2Image, libxlHvmEntries, pv64Image } from "../support/corpus/valid.ts";

async function strict(bytes: Uint8Array, format: CorpusFormat = "libxc") {
  return await verifyStream(bytesSource(bytes), { format, strict: true });
}

/** Verifies `segments` strictly and expects `message` at the record tagged "bad" (or `offset`). */
async function rejects(
  segments: Segment[],
  message: string | RegExp,
  opts: { format?: CorpusFormat; offset?: number } = {},
): Promise<void> {
  const r = await strict(join(segments), opts.format);
  assert.equal(r.exitCode, 1, `strict accepted it (${r.error?.message ?? "no error"})`);
  assert.ok(r.error instanceof StreamError, String(r.error));
  if (typeof message === "string") assert.ok(r.error.message.includes(message), r.error.message);
  else assert.match(r.error.message, message);
  assert.equal(r.error.offset, opts.offset ?? offsetOf(segments, "bad"), r.error.describe());
  assert.ok(r.error.describe().includes(`offset ${r.error.offset}`));
  // Xen's checks alone accept the stream: only strict catches the fault.
  const plain = await verifyStream(bytesSource(join(segments)), { format: opts.format });
  assert.equal(plain.exitCode, 0, `not a strict-only fault: ${plain.error?.message}`);
}

const pv = (records: Rec[], version = 3): Segment[] =>
  libxcSegments({ ihdr: { version }, dhdr: { type: DOMAIN.PV }, records });
const hvm = (records: Rec[], version = 3): Segment[] =>
  libxcSegments({ ihdr: { version }, records });
const PV_STATICS = [pvInfo(), cpuidPolicy(TYPICAL_CPUID), msrPolicy(TYPICAL_MSRS), staticDataEnd()];
const HVM_STATICS = [cpuidPolicy(TYPICAL_CPUID), msrPolicy(TYPICAL_MSRS), staticDataEnd()];
const PV_TAIL = [tscInfo(), sharedInfo(), pvVcpu("basic", 0, 64), libxcEnd()];
const HVM_END = [tscInfo(), hvmContext(), hvmParams(TYPICAL_HVM_PARAMS), libxcEnd()];

Deno.test("strict accepts every corpus stream marked strict-valid", async (t) => {
  const valid = corpus().filter((i) => i.strictValid);
  assert.ok(valid.length >= 15);
  for (const it of valid) {
    await t.step(it.name, async () => {
      const r = await strict(it.bytes, it.format);
      assert.equal(
        r.exitCode,
        0,
        r.error instanceof StreamError ? r.error.describe() : r.error?.message,
      );
    });
  }
});

Deno.test("strict: PV record order", async (t) => {
  await t.step("X86_PV_P2M_FRAMES before X86_PV_INFO", () =>
    rejects(
      pv([...HVM_STATICS, tagged(p2mFrames(0, 7)), pageData(pfnRange(0, 1)), ...PV_TAIL]),
      "X86_PV_P2M_FRAMES record before X86_PV_INFO",
    ));
  await t.step("PAGE_DATA before X86_PV_P2M_FRAMES", () =>
    rejects(
      pv([...PV_STATICS, tagged(pageData(pfnRange(0, 1))), p2mFrames(0, 7), ...PV_TAIL]),
      "PAGE_DATA record before X86_PV_P2M_FRAMES",
    ));
  await t.step("a vcpu record before any PAGE_DATA", () =>
    rejects(
      pv([
        ...PV_STATICS,
        p2mFrames(0, 7),
        tagged(pvVcpu("extended", 0, 64)),
        pageData(pfnRange(0, 1)),
        ...PV_TAIL,
      ]),
      "X86_PV_VCPU_EXTENDED record before any PAGE_DATA",
    ));
  await t.step("PAGE_DATA after vcpu records", () =>
    rejects(
      pv([
        ...PV_STATICS,
        p2mFrames(0, 7),
        pageData(pfnRange(0, 1)),
        pvVcpu("basic", 0, 64),
        tagged(pageData(pfnRange(1, 1))),
        libxcEnd(),
      ]),
      "PAGE_DATA record after vcpu records",
    ));
  await t.step("PAGE_DATA after vcpu records is fine after a CHECKPOINT", async () => {
    const segs = pv([
      ...PV_STATICS,
      p2mFrames(0, 7),
      pageData(pfnRange(0, 2)),
      pvVcpu("basic", 0, 64),
      checkpoint(),
      pageData(pfnRange(1, 1)),
      pvVcpu("basic", 0, 64),
      libxcEnd(),
    ]);
    assert.equal((await strict(join(segs))).exitCode, 0);
  });
});

Deno.test("strict: static data and STATIC_DATA_END", async (t) => {
  await t.step("a static record after STATIC_DATA_END", () =>
    rejects(
      hvm([
        cpuidPolicy(TYPICAL_CPUID),
        staticDataEnd(),
        tagged(msrPolicy(TYPICAL_MSRS)),
        pageData(pfnRange(0, 1)),
        ...HVM_END,
      ]),
      "X86_MSR_POLICY record after STATIC_DATA_END",
    ));
  await t.step("content before STATIC_DATA_END in v3", () =>
    rejects(
      hvm([
        cpuidPolicy(TYPICAL_CPUID),
        tagged(pageData(pfnRange(0, 1))),
        staticDataEnd(),
        ...HVM_END,
      ]),
      "PAGE_DATA record before STATIC_DATA_END",
    ));
  await t.step(
    "a second STATIC_DATA_END",
    () =>
      rejects(
        hvm([...HVM_STATICS, pageData(pfnRange(0, 1)), tagged(staticDataEnd()), ...HVM_END]),
        "second STATIC_DATA_END",
      ),
  );
  await t.step("a v3 stream that never ends its static data", () => {
    const segs = hvm([cpuidPolicy(TYPICAL_CPUID), tagged(libxcEnd())]);
    return rejects(segs, "stream ended without static data");
  });
  await t.step("v2 PV: static data ends at the first X86_PV_P2M_FRAMES", () =>
    rejects(
      pv([pvInfo(), p2mFrames(0, 7), tagged(pvInfo()), pageData(pfnRange(0, 1)), ...PV_TAIL], 2),
      "X86_PV_INFO record after STATIC_DATA_END",
    ));
  await t.step(
    "v2 HVM: static data ends at the first PAGE_DATA",
    () =>
      rejects(
        hvm([tagged(tscInfo()), pageData(pfnRange(0, 1)), hvmContext(), libxcEnd()], 2),
        "X86_TSC_INFO record before STATIC_DATA_END",
      ),
  );
});

Deno.test("strict: records of the other guest type", async (t) => {
  await t.step(
    "SHARED_INFO in HVM",
    () =>
      rejects(
        hvm([...HVM_STATICS, pageData(pfnRange(0, 1)), tagged(sharedInfo()), ...HVM_END]),
        "SHARED_INFO record in an HVM stream",
      ),
  );
  await t.step("a PV vcpu record in HVM", () =>
    rejects(
      hvm([...HVM_STATICS, pageData(pfnRange(0, 1)), tagged(pvVcpu("basic", 0, 64)), ...HVM_END]),
      "X86_PV_VCPU_BASIC record in an HVM stream",
    ));
  await t.step(
    "X86_PV_INFO in HVM",
    () =>
      rejects(
        hvm([tagged(pvInfo()), ...HVM_STATICS, pageData(pfnRange(0, 1)), ...HVM_END]),
        "X86_PV_INFO record in an HVM stream",
      ),
  );
  await t.step("HVM_PARAMS in PV", () =>
    rejects(
      pv([
        ...PV_STATICS,
        p2mFrames(0, 7),
        pageData(pfnRange(0, 1)),
        tagged(hvmParams(TYPICAL_HVM_PARAMS)),
        ...PV_TAIL,
      ]),
      "HVM_PARAMS record in a PV stream",
    ));
  await t.step("pagetable page types in HVM", async () => {
    for (const type of [PAGE.L1TAB, PAGE.L4TAB | PAGE.LPINTAB]) {
      await rejects(
        hvm([
          ...HVM_STATICS,
          pageData(pfnRange(0, 2)),
          tagged(pageData([{ pfn: 5 }, { pfn: 0x42, type }])),
          ...HVM_END,
        ]),
        new RegExp(
          `pfn\\[1\\] 0x42 has pagetable type L${type & 7}TAB${
            type & 8 ? "\\|LPINTAB" : ""
          } in an HVM stream`,
        ),
      );
    }
  });
  await t.step("data-less page types are fine in HVM", async () => {
    const segs = hvm([
      ...HVM_STATICS,
      pageData([{ pfn: 1, type: PAGE.XTAB }, { pfn: 2, type: PAGE.BROKEN }]),
      ...HVM_END,
    ]);
    assert.equal((await strict(join(segs))).exitCode, 0);
  });
});

Deno.test("strict: required records", async (t) => {
  await t.step(
    "HVM without HVM_CONTEXT",
    () =>
      rejects(
        hvm([...HVM_STATICS, pageData(pfnRange(0, 1)), tscInfo(), tagged(libxcEnd())]),
        "HVM stream has no HVM_CONTEXT record",
      ),
  );
  await t.step(
    "PV without X86_PV_VCPU_BASIC",
    () =>
      rejects(
        pv([
          ...PV_STATICS,
          p2mFrames(0, 7),
          pageData(pfnRange(0, 1)),
          tscInfo(),
          tagged(libxcEnd()),
        ]),
        "PV stream has no X86_PV_VCPU_BASIC record",
      ),
  );
  await t.step(
    "unknown TSC mode",
    () =>
      rejects(
        hvm([
          ...HVM_STATICS,
          pageData(pfnRange(0, 1)),
          tagged(tscInfo(4)),
          hvmContext(),
          libxcEnd(),
        ]),
        "unknown TSC mode 4",
      ),
  );
});

Deno.test("strict: HVM context save records", async (t) => {
  const cpu = (instance: number, n = 64) => ({
    typecode: HVM_SAVE.CPU,
    instance,
    data: new Uint8Array(n),
  });
  const cases: [string, Uint8Array, string][] = [
    [
      "a save record overruns the blob",
      hvmBlob([hvmSaveHeader(), { ...cpu(0), length: 4096 }]),
      "save record CPU of 4096 bytes overruns the blob",
    ],
    ["no END save record", hvmBlob([hvmSaveHeader(), cpu(0)]), "no END save record"],
    [
      "bytes after END",
      concat(hvmContextBlob(1), new Uint8Array(8)),
      "8 bytes after the END save record",
    ],
    [
      "bad HEADER magic",
      hvmBlob([hvmSaveHeader(0x12345678), cpu(0), HVM_SAVE_END]),
      "HEADER magic 0x12345678, expected 0x54381286",
    ],
    [
      "first record not HEADER",
      hvmBlob([cpu(0), HVM_SAVE_END]),
      "first save record has typecode 2, not HEADER",
    ],
    [
      "HEADER too short",
      hvmBlob([{ typecode: HVM_SAVE.HEADER, instance: 0, data: new Uint8Array(8) }, HVM_SAVE_END]),
      "HEADER save record of 8 bytes",
    ],
    [
      "unknown typecode",
      hvmBlob([
        hvmSaveHeader(),
        { typecode: 99, instance: 0, data: new Uint8Array(8) },
        HVM_SAVE_END,
      ]),
      "unknown typecode 99",
    ],
  ];
  for (const [name, blob, message] of cases) {
    await t.step(
      name,
      () =>
        rejects(
          hvm([
            ...HVM_STATICS,
            pageData(pfnRange(0, 1)),
            tscInfo(),
            tagged(hvmContext(blob)),
            libxcEnd(),
          ]),
          message,
        ),
    );
  }
});

Deno.test("strict: CPUID and MSR policies", async (t) => {
  await t.step("a CPUID leaf twice", () =>
    rejects(
      hvm([
        tagged(cpuidPolicy([...TYPICAL_CPUID, TYPICAL_CPUID[1]])),
        staticDataEnd(),
        pageData(pfnRange(0, 1)),
        ...HVM_END,
      ]),
      "CPUID leaf 3 (0x00000001:0xffffffff) appears twice",
    ));
  await t.step("same leaf, other subleaf is fine", async () => {
    const leaves = [...TYPICAL_CPUID, [7, 1, 0, 0, 0, 0]];
    const segs = hvm([cpuidPolicy(leaves), staticDataEnd(), pageData(pfnRange(0, 1)), ...HVM_END]);
    assert.equal((await strict(join(segs))).exitCode, 0);
  });
  await t.step("MSR flags not zero", () =>
    rejects(
      hvm([
        cpuidPolicy(TYPICAL_CPUID),
        tagged(msrPolicy([[0xce, 0, 0n], [0x10a, 4, 0n]])),
        staticDataEnd(),
        pageData(pfnRange(0, 1)),
        ...HVM_END,
      ]),
      "MSR entry 1 (0x0000010a) has reserved flags 0x4",
    ));
  await t.step("an MSR twice", () =>
    rejects(
      hvm([
        cpuidPolicy(TYPICAL_CPUID),
        tagged(msrPolicy([[0xce, 0, 0n], [0xce, 0, 1n]])),
        staticDataEnd(),
        pageData(pfnRange(0, 1)),
        ...HVM_END,
      ]),
      "MSR 0x000000ce appears twice",
    ));
});

const libxl = (entries: LibxlEntry[]) => libxlSegments(entries);
const image = (): ImageSpec => hvmImage(1);

Deno.test("strict: libxl layer", async (t) => {
  await t.step("a xenstore key with characters outside [A-Za-z0-9/_@-]", () =>
    rejects(
      libxl([
        { libxc: image() },
        tagged(
          emulatorXenstoreData(
            EMULATOR.QEMU_UPSTREAM,
            0,
            xenstorePairs([["ok/key", "1"], ["bad key!", "v"]]),
          ),
        ),
        libxlEnd(),
      ]),
      "xenstore key 'bad key!' has characters outside [A-Za-z0-9/_@-]",
      { format: "libxl" },
    ));
  await t.step("a second LIBXC_CONTEXT in a stream that is not checkpointed", () => {
    const segs = libxl([{ libxc: image() }, { libxc: image() }, libxlEnd()]);
    const second = segs.findIndex((s, i) => i > 1 && s.label === "libxl record header (type 0x1)");
    return rejects(segs, "second LIBXC_CONTEXT record", {
      format: "libxl",
      offset: offsetOf(segs, (s) => s === segs[second]),
    });
  });
  await t.step("a second LIBXC_CONTEXT after CHECKPOINT_END is fine", async () => {
    const segs = libxl([{ libxc: image() }, checkpointEnd(), { libxc: image() }, libxlEnd()]);
    assert.equal((await strict(join(segs), "libxl")).exitCode, 0);
  });
  await t.step(
    "END without any LIBXC_CONTEXT",
    () =>
      rejects(
        libxl([emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, qemuState()), tagged(libxlEnd())]),
        "libxl stream ended without a LIBXC_CONTEXT record",
        {
          format: "libxl",
        },
      ),
  );
  await t.step(
    "an unknown CHECKPOINT_STATE control id",
    () =>
      rejects(
        libxl([{ libxc: image() }, checkpointEnd(), tagged(checkpointState(9)), libxlEnd()]),
        "unknown CHECKPOINT_STATE control_id 9",
        {
          format: "libxl",
        },
      ),
  );
});

Deno.test("strict: xl header", async (t) => {
  const inner = libxlSegments(libxlHvmEntries());
  await t.step("byte order of another host", () =>
    rejects(
      xlSegments({ byteorder: 0x04030201, mflags: XL_FLAG.STREAMV2 }, inner),
      "byte order word 0x04030201 is not 0x01020304",
      { format: "xl", offset: 0 },
    ));
  await t.step(
    "unknown mandatory flags",
    () =>
      rejects(
        xlSegments({ mflags: XL_FLAG.STREAMV2 | 0x10 }, inner),
        "unknown mandatory flags 0x10",
        { format: "xl", offset: 0 },
      ),
  );
  await t.step("config length overruns the optional data", () =>
    rejects(
      xlSegments({
        mflags: XL_FLAG.JSON | XL_FLAG.STREAMV2,
        optional: concat(new Uint8Array([200, 0, 0, 0]), text("{}")),
      }, inner),
      "config length 200 overruns the 6-byte optional data",
      { format: "xl", offset: 0 },
    ));
  await t.step("a JSON config that is not JSON is a warning", async () => {
    const r = await strict(
      join(
        xlSegments(
          { mflags: XL_FLAG.JSON | XL_FLAG.STREAMV2, optional: xlConfig("name = 'x'") },
          inner,
        ),
      ),
      "xl",
    );
    assert.equal(r.exitCode, 0);
    assert.deepEqual(
      r.warnings.filter((w) => w.offset === 0).map((w) => w.message),
      ["xl header says JSON config, but the config is not valid JSON"],
    );
  });
});

Deno.test("strict: nothing may follow the final END", async (t) => {
  const hvmBytes = join(libxcSegments(hvmV2Image()));
  const garbage = new Uint8Array([1, 2, 3]);
  for (
    const [name, bytes, format, offset] of [
      ["libxc", concat(hvmBytes, garbage), "libxc", hvmBytes.length],
      [
        "libxl",
        concat(join(libxl(libxlHvmEntries())), garbage),
        "libxl",
        join(libxl(libxlHvmEntries())).length,
      ],
      [
        "xl, not xl migrate's message",
        concat(
          join(xlSegments({ mflags: XL_FLAG.STREAMV2 }, libxl(libxlHvmEntries()))),
          text("domain is yours, you are cleared to unpause"),
        ),
        "xl",
        undefined,
      ],
      [
        "xl, xl migrate's message and more",
        concat(
          join(xlSegments({ mflags: XL_FLAG.STREAMV2 }, libxl(libxlHvmEntries()))),
          text("domain is yours, you are cleared to unpause\0\0"),
        ),
        "xl",
        undefined,
      ],
    ] as const
  ) {
    await t.step(name, async () => {
      const r = await strict(bytes, format);
      assert.equal(r.exitCode, 1);
      assert.ok(r.error instanceof StreamError);
      assert.equal(r.error.message, "data after the final END record");
      if (offset !== undefined) assert.equal(r.error.offset, offset);
      assert.equal(
        (await verifyStream(bytesSource(bytes), { format })).exitCode,
        0,
        "Xen's checks ignore it",
      );
    });
  }
});

Deno.test("strict: HVM_CONTEXT before HVM_PARAMS is a warning, as Xen 4.17 writes it", async () => {
  const xenOrder = await strict(join(libxcSegments(hvmImage())));
  assert.equal(xenOrder.exitCode, 0);
  assert.equal(xenOrder.warnings.length, 1);
  assert.match(xenOrder.warnings[0].message, /^HVM_CONTEXT precedes HVM_PARAMS/);
  const specOrder = await strict(join(libxcSegments(hvmV2Image())));
  assert.deepEqual(specOrder.warnings, []);
});

Deno.test("strict via the CLI: one clear line with the record and offset; warnings do not fail", async () => {
  const segs = pv([...HVM_STATICS, tagged(p2mFrames(0, 7)), pageData(pfnRange(0, 1)), ...PV_TAIL]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/bad`, join(segs));
    const bad = await runOurs(["--strict", "-i", `${dir}/bad`]);
    assert.equal(bad.code, 1);
    assert.deepEqual(lines(bad.stderr), [
      `Stream Error: X86_PV_P2M_FRAMES record before X86_PV_INFO (libxc record 3 (X86_PV_P2M_FRAMES), offset ${
        offsetOf(segs, "bad")
      })`,
    ]);
    await Deno.writeFile(`${dir}/warn`, join(libxcSegments(hvmImage())));
    const warn = await runOurs(["--strict", "-i", `${dir}/warn`]);
    assert.equal(warn.code, 0);
    assert.equal(lines(warn.stderr).length, 1);
    assert.match(warn.stderr, /^Warning: HVM_CONTEXT precedes HVM_PARAMS.* \(offset \d+\)\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("strict: the full PV image with two vcpus passes", async () => {
  assert.equal((await strict(join(libxcSegments(pv64Image(2))))).exitCode, 0);
});
