/**
 * `verify --json`: the summary of a stream — records by type, pages by type,
 * distinct pfns, pfns re-sent, vcpus, checkpoints, bytes — checked on
 * streams whose true values are known by construction.
 *
 * @module
 */

import assert from "node:assert/strict";
import { concat } from "../support/corpus/bytes.ts";
import { runOurs } from "../support/corpus/processes.ts";
import {
  checkpoint,
  checkpointEnd,
  cpuidPolicy,
  EMULATOR,
  emulatorContext,
  emulatorXenstoreData,
  hvmContext,
  hvmContextBlob,
  hvmParams,
  libxcEnd,
  libxlEnd,
  msrPolicy,
  PAGE,
  pageData,
  pfnRange,
  qemuState,
  staticDataEnd,
  tscInfo,
  TYPICAL_CPUID,
  TYPICAL_HVM_PARAMS,
  TYPICAL_MSRS,
} from "../support/corpus/records.ts";
import { join, libxcSegments, libxlSegments } from "../support/corpus/streams.ts";
import { pv32Image, pv64Image } from "../support/corpus/valid.ts";

const dir = await Deno.makeTempDir({ prefix: "xenmig-summary-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

async function summarise(bytes: Uint8Array, args: string[]) {
  const path = `${dir}/${crypto.randomUUID()}`;
  await Deno.writeFile(path, bytes);
  const r = await runOurs(["--json", ...args, "-i", path]);
  return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout) };
}

/** pfns 0–3, then 2–4 and an XTAB, a checkpoint, then 3 and 5 again; 2^40 + 1 twice. */
const BIG = 2 ** 40 + 1;
const resending = libxlSegments([
  {
    libxc: {
      records: [
        cpuidPolicy(TYPICAL_CPUID),
        msrPolicy(TYPICAL_MSRS),
        staticDataEnd(),
        pageData(pfnRange(0, 4)),
        pageData([...pfnRange(2, 3), { pfn: 0x10, type: PAGE.XTAB }, { pfn: BIG }]),
        checkpoint(),
        pageData([{ pfn: 3 }, { pfn: 5 }, { pfn: BIG }, { pfn: 0x11, type: PAGE.BROKEN }]),
        tscInfo(2, 0, 0n, 2),
        hvmContext(hvmContextBlob(3)),
        hvmParams(TYPICAL_HVM_PARAMS),
        libxcEnd(),
      ],
    },
  },
  emulatorXenstoreData(EMULATOR.QEMU_UPSTREAM, 0, new Uint8Array(0)),
  emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, qemuState()),
  checkpointEnd(),
  libxlEnd(),
]);

Deno.test("--json counts records, pages, pfns, re-sent pfns, vcpus, checkpoints and bytes", async () => {
  const bytes = join(resending);
  const { code, json } = await summarise(bytes, ["-f", "libxl"]);
  assert.equal(code, 0);
  assert.deepEqual(json, {
    valid: true,
    format: "libxl",
    bytes: bytes.length,
    version: 3,
    domainType: "x86 HVM",
    xenVersion: "4.17",
    records: {
      libxc: {
        X86_CPUID_POLICY: 1,
        X86_MSR_POLICY: 1,
        STATIC_DATA_END: 1,
        PAGE_DATA: 3,
        CHECKPOINT: 1,
        X86_TSC_INFO: 1,
        HVM_CONTEXT: 1,
        HVM_PARAMS: 1,
        END: 1,
      },
      libxl: {
        LIBXC_CONTEXT: 1,
        EMULATOR_XENSTORE_DATA: 1,
        EMULATOR_CONTEXT: 1,
        CHECKPOINT_END: 1,
        END: 1,
      },
    },
    pages: { NOTAB: 4 + 4 + 3, XTAB: 1, BROKEN: 1 },
    pagesWithData: 11,
    uniquePfns: 9, // 0-5, 0x10, 0x11, 2^40+1
    pfnsSentMoreThanOnce: 3, // 2, 3 (three times) and 2^40+1
    pfnCountsExact: true,
    vcpus: 3,
    checkpoints: 2,
    warnings: [],
  });
});

Deno.test("--json: PV vcpus come from X86_PV_VCPU_BASIC; legacy streams say so", async () => {
  const pv = await summarise(join(libxcSegments(pv64Image(2))), []);
  assert.equal(pv.json.vcpus, 2);
  assert.equal(pv.json.domainType, "x86 PV");
  assert.equal(pv.json.records.libxc.X86_PV_VCPU_BASIC, 2);
  const legacy = await summarise(
    join(libxcSegments({ ...pv32Image(), dhdr: { type: 1, major: 0 } })),
    [],
  );
  assert.equal(legacy.json.xenVersion, "legacy");
  assert.equal(legacy.json.version, 2);
});

Deno.test("--json --strict carries warnings; an invalid stream reports its error and offset", async () => {
  const strict = await summarise(join(resending), ["-f", "libxl", "--strict"]);
  assert.equal(strict.code, 0);
  assert.equal(strict.json.warnings.length, 1);
  assert.match(strict.json.warnings[0].message, /^HVM_CONTEXT precedes HVM_PARAMS/);
  assert.ok(strict.json.warnings[0].offset > 0);

  const good = join(resending);
  const cut = good.length - 8; // no libxl END
  const bad = await summarise(concat(good.subarray(0, cut)), ["-f", "libxl"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.json.valid, false);
  assert.deepEqual(bad.json.error, {
    message: "Stream truncated",
    offset: cut,
    where: "libxl record 4 header",
  });
  assert.match(bad.stderr, /^Stream Error: Stream truncated/);
});
