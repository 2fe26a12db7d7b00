/**
 * Well-formed streams: every libxc record type a valid stream can hold (PV
 * 32/64-bit and HVM, v2 and v3), every libxl record type, all three formats,
 * checkpointed streams, zero-content records and legacy-converted streams.
 *
 * @module
 */

import { concat, patterned, text } from "./bytes.ts";
import {
  checkpoint,
  checkpointEnd,
  checkpointState,
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
  tscInfo,
  TYPICAL_CPUID,
  TYPICAL_HVM_PARAMS,
  TYPICAL_MSRS,
  verifyRec,
  xenstorePairs,
} from "./records.ts";
import {
  DOMAIN,
  DOMAIN_CONFIG_JSON,
  type ImageSpec,
  join,
  libxcSegments,
  LIBXL_OPT_LEGACY,
  type LibxlEntry,
  libxlSegments,
  type Segment,
  XL_FLAG,
  xlConfig,
  xlSegments,
} from "./streams.ts";
import type { CorpusItem } from "./types.ts";

/** Every pagetable page type, pinned and not, plus data-less types. */
const PV_PAGE_TYPES = [
  PAGE.L1TAB,
  PAGE.L2TAB,
  PAGE.L3TAB,
  PAGE.L4TAB,
  PAGE.L1TAB | PAGE.LPINTAB,
  PAGE.L2TAB | PAGE.LPINTAB,
  PAGE.L3TAB | PAGE.LPINTAB,
  PAGE.L4TAB | PAGE.LPINTAB,
];

/** A 64-bit PV guest, v3, in the order Xen 4.17 writes it. */
export function pv64Image(vcpus = 2): ImageSpec {
  return {
    dhdr: { type: DOMAIN.PV },
    records: [
      pvInfo(8, 4),
      cpuidPolicy(TYPICAL_CPUID),
      msrPolicy(TYPICAL_MSRS),
      staticDataEnd(),
      p2mFrames(0, 0x3f, [0x1234n]),
      pageData([...pfnRange(0, 8), ...PV_PAGE_TYPES.map((type, i) => ({ pfn: 8 + i, type }))]),
      pageData([
        { pfn: 16, type: PAGE.XTAB },
        { pfn: 17, type: PAGE.BROKEN },
        { pfn: 18, type: PAGE.XALLOC },
        ...pfnRange(19, 4),
      ]),
      tscInfo(),
      sharedInfo(),
      ...Array.from({ length: vcpus }, (_, v) => [
        pvVcpu("basic", v, 5168),
        pvVcpu("extended", v, 64),
        pvVcpu("xsave", v, 848),
        pvVcpu("msrs", v, 32),
      ]).flat(),
      libxcEnd(),
    ],
  };
}

/** A 32-bit PAE PV guest, v2 (no static data end, no policies). */
export function pv32Image(): ImageSpec {
  return {
    ihdr: { version: 2 },
    dhdr: { type: DOMAIN.PV, minor: 6 },
    records: [
      pvInfo(4, 3),
      p2mFrames(0, 0x1f, [0x99n, 0x9an]),
      pageData([...pfnRange(0, 4), { pfn: 4, type: PAGE.L3TAB | PAGE.LPINTAB }, {
        pfn: 5,
        type: PAGE.L2TAB,
      }, { pfn: 6, type: PAGE.L1TAB }]),
      tscInfo(0, 1_000_000, 5n, 1),
      sharedInfo(),
      pvVcpu("basic", 0, 2800),
      pvVcpu("extended", 0, 64),
      pvVcpu("xsave", 0, 576),
      libxcEnd(),
    ],
  };
}

/** The records of an HVM guest after the static data, as Xen 4.17 orders them. */
export function hvmTail(vcpus = 2): Rec[] {
  return [
    pageData(pfnRange(0, 12)),
    pageData([...pfnRange(0xfeff8, 5), { pfn: 0xa0, type: PAGE.XTAB }]),
    tscInfo(2, 0, 0n, 2),
    hvmContext(hvmContextBlob(vcpus)),
    hvmParams(TYPICAL_HVM_PARAMS),
    libxcEnd(),
  ];
}

/** An HVM guest, v3, in the order Xen 4.17 writes it. */
export function hvmImage(vcpus = 2): ImageSpec {
  return {
    records: [
      cpuidPolicy(TYPICAL_CPUID),
      msrPolicy(TYPICAL_MSRS),
      staticDataEnd(),
      ...hvmTail(vcpus),
    ],
  };
}

/** An HVM guest, v2, with HVM_PARAMS before HVM_CONTEXT as the spec orders. */
export function hvmV2Image(): ImageSpec {
  return {
    ihdr: { version: 2 },
    dhdr: { minor: 5 },
    records: [
      pageData(pfnRange(0, 6)),
      tscInfo(0, 3_000_000, 123_456_789n, 1),
      hvmParams(TYPICAL_HVM_PARAMS),
      hvmContext(hvmContextBlob(1)),
      libxcEnd(),
    ],
  };
}

/**
 * A checkpointed (Remus/COLO) HVM image in the form Xen's verifier accepts:
 * after the first pass each checkpoint ends with CHECKPOINT, pages are
 * re-sent, and an END closes the stream.
 */
export function checkpointedHvmImage(): ImageSpec {
  const state =
    () => [tscInfo(2, 0, 0n, 2), hvmParams(TYPICAL_HVM_PARAMS), hvmContext(hvmContextBlob(1))];
  return {
    records: [
      cpuidPolicy(TYPICAL_CPUID),
      msrPolicy(TYPICAL_MSRS),
      staticDataEnd(),
      pageData(pfnRange(0, 8)),
      ...state(),
      checkpoint(),
      pageData(pfnRange(2, 3)),
      ...state(),
      checkpoint(),
      pageData(pfnRange(4, 1)),
      ...state(),
      libxcEnd(),
    ],
  };
}

/** The libxl records after the libxc context of an HVM guest with qemu. */
export function qemuRecords(): Rec[] {
  return [
    emulatorXenstoreData(EMULATOR.QEMU_UPSTREAM, 0, new Uint8Array(0)),
    emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, qemuState()),
  ];
}

/** A libxl stream of an HVM guest with qemu. */
export function libxlHvmEntries(): LibxlEntry[] {
  return [{ libxc: hvmImage() }, ...qemuRecords(), libxlEnd()];
}

/** A COLO-style checkpointed libxl stream. */
export function checkpointedLibxlEntries(): LibxlEntry[] {
  return [
    { libxc: checkpointedHvmImage() },
    emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, qemuState()),
    checkpointEnd(),
    checkpointState(2), // SVM_READY
    { libxc: checkpointedHvmImage() },
    emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, qemuState(120)),
    checkpointEnd(),
    checkpointState(3), // SVM_RESUMED
    libxlEnd(),
  ];
}

/** An xl save file of an HVM guest (JSON config, STREAMv2). */
export function xlHvmSegments(): Segment[] {
  return xlSegments(
    { mflags: XL_FLAG.JSON | XL_FLAG.STREAMV2, optional: xlConfig(DOMAIN_CONFIG_JSON) },
    libxlSegments(libxlHvmEntries()),
  );
}

/** `xl migrate`'s last message, which follows the stream in a capture. */
const PERMISSION_TO_GO = text("domain is yours, you are cleared to unpause\0");

function item(
  name: string,
  format: CorpusItem["format"],
  segments: Segment[] | Uint8Array,
  extra: Partial<CorpusItem> = {},
): CorpusItem {
  const bytes = segments instanceof Uint8Array ? segments : join(segments);
  return { name, format, bytes, expect: { exitCode: 0 }, ...extra };
}

/** The valid corpus items. */
export function validItems(): CorpusItem[] {
  return [
    item("libxc-pv64-v3", "libxc", libxcSegments(pv64Image()), { strictValid: true }),
    item("libxc-pv32-v2", "libxc", libxcSegments(pv32Image()), { strictValid: true }),
    item("libxc-hvm-v3", "libxc", libxcSegments(hvmImage()), { strictValid: true }),
    item("libxc-hvm-v2", "libxc", libxcSegments(hvmV2Image()), { strictValid: true }),
    item("libxc-hvm-checkpointed", "libxc", libxcSegments(checkpointedHvmImage()), {
      strictValid: true,
    }),
    item(
      "libxc-pv-vcpu-records-zero-content",
      "libxc",
      libxcSegments({
        dhdr: { type: DOMAIN.PV },
        records: [
          pvInfo(),
          staticDataEnd(),
          p2mFrames(0, 7),
          pageData(pfnRange(0, 2)),
          pvVcpu("basic", 0, 0),
          pvVcpu("extended", 0, 0),
          pvVcpu("xsave", 0, 0),
          pvVcpu("msrs", 0, 0),
          libxcEnd(),
        ],
      }),
      {
        strictValid: true,
        expect: {
          exitCode: 0,
          lines: [
            "Warning: X86_PV_VCPU_basic record with zero content",
            "  vcpu0 basic context, 0 bytes",
            "Warning: X86_PV_VCPU_extended record with zero content",
            "Warning: X86_PV_VCPU_xsave record with zero content",
            "Warning: X86_PV_VCPU_msrs record with zero content",
          ],
        },
      },
    ),
    item(
      "libxc-hvm-params-count-0",
      "libxc",
      libxcSegments({
        records: [
          staticDataEnd(),
          pageData(pfnRange(0, 1)),
          hvmParams([]),
          hvmContext(),
          libxcEnd(),
        ],
      }),
      {
        strictValid: true,
        expect: { exitCode: 0, lines: ["Warning: HVM_PARAMS record with zero content"] },
      },
    ),
    item(
      "libxc-legacy-converted-pv",
      "libxc",
      libxcSegments({ ...pv32Image(), dhdr: { type: DOMAIN.PV, major: 0, minor: 0 } }),
      {
        strictValid: true,
        expect: { exitCode: 0, lines: ["Domain Header: legacy converted x86 PV"] },
      },
    ),
    item(
      "libxc-verify-record",
      "libxc",
      libxcSegments({
        records: [
          staticDataEnd(),
          pageData(pfnRange(0, 3)),
          hvmContext(),
          verifyRec(),
          pageData(pfnRange(0, 3)),
          libxcEnd(),
        ],
      }),
      { strictValid: true },
    ),
    item(
      "libxc-pagedata-without-page-contents",
      "libxc",
      libxcSegments({
        records: [
          staticDataEnd(),
          pageData([{ pfn: 1, type: PAGE.XTAB }, { pfn: 2, type: PAGE.BROKEN }, {
            pfn: 3,
            type: PAGE.XALLOC,
          }]),
          hvmContext(),
          libxcEnd(),
        ],
      }),
      { strictValid: true },
    ),
    item(
      "libxc-bytes-after-end-ignored-by-xen",
      "libxc",
      concat(join(libxcSegments(hvmV2Image())), patterned(16, 3)),
    ),
    item("libxl-hvm-with-qemu", "libxl", libxlSegments(libxlHvmEntries()), { strictValid: true }),
    item("libxl-pv", "libxl", libxlSegments([{ libxc: pv64Image(1) }, libxlEnd()]), {
      strictValid: true,
    }),
    item(
      "libxl-legacy-converted",
      "libxl",
      libxlSegments(
        [
          { libxc: { ...hvmV2Image(), dhdr: { major: 0, minor: 0 } } },
          emulatorContext(
            EMULATOR.QEMU_TRADITIONAL,
            0,
            concat(text("DeviceModelRecord0002"), new Uint8Array([16, 0, 0, 0]), patterned(16)),
          ),
          libxlEnd(),
        ],
        { options: LIBXL_OPT_LEGACY },
      ),
      {
        strictValid: true,
        expect: {
          exitCode: 0,
          lines: [
            "Libxl Header: little endian, legacy converted",
            "Domain Header: legacy converted x86 HVM",
          ],
        },
      },
    ),
    item(
      "libxl-emulator-id-unknown",
      "libxl",
      libxlSegments([
        { libxc: hvmImage(1) },
        emulatorXenstoreData(EMULATOR.UNKNOWN, 1, new Uint8Array(0)),
        emulatorContext(EMULATOR.UNKNOWN, 1, qemuState(64)),
        libxlEnd(),
      ]),
      { strictValid: true, expect: { exitCode: 0, lines: ["  Index 1, type Unknown"] } },
    ),
    item("libxl-checkpointed-colo", "libxl", libxlSegments(checkpointedLibxlEntries()), {
      strictValid: true,
    }),
    item("xl-streamv2-json-hvm", "xl", xlHvmSegments(), { strictValid: true }),
    item(
      "xl-without-streamv2-libxc",
      "xl",
      xlSegments(
        { mflags: XL_FLAG.JSON, optional: xlConfig(DOMAIN_CONFIG_JSON) },
        libxcSegments(pv32Image()),
      ),
      { strictValid: true },
    ),
    item(
      "xl-no-optional-data",
      "xl",
      xlSegments(
        { mflags: XL_FLAG.STREAMV2 },
        libxlSegments([{ libxc: pv64Image(1) }, libxlEnd()]),
      ),
      { strictValid: true },
    ),
    item(
      "xl-colo-checkpointed",
      "xl",
      xlSegments(
        {
          mflags: XL_FLAG.JSON | XL_FLAG.STREAMV2 | XL_FLAG.COLO,
          optional: xlConfig(DOMAIN_CONFIG_JSON),
        },
        libxlSegments(checkpointedLibxlEntries()),
      ),
      { strictValid: true },
    ),
    item("xl-migrate-capture-with-trailer", "xl", concat(join(xlHvmSegments()), PERMISSION_TO_GO), {
      strictValid: true,
    }),
    // Reference bug (a): Python 3 compares an int with a str, so Xen rejects
    // every non-empty xenstore data record.
    item(
      "libxl-emulator-xenstore-data-pairs",
      "libxl",
      libxlSegments([
        { libxc: hvmImage(1) },
        emulatorXenstoreData(
          EMULATOR.QEMU_UPSTREAM,
          0,
          xenstorePairs([["physmap/1/start_addr", "f0000000"], ["physmap/1/size", "800000"], [
            "physmap/1/name",
            "vga.vram",
          ]]),
        ),
        emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, qemuState()),
        libxlEnd(),
      ]),
      {
        strictValid: true,
        expect: {
          exitCode: 0,
          lines: [
            "Emulator Xenstore Data (Qemu Upstream, idx 0)",
            "  'physmap/1/start_addr' = 'f0000000'",
            "  'physmap/1/size' = '800000'",
            "  'physmap/1/name' = 'vga.vram'",
          ],
        },
        pythonBug:
          "xen.migration.libxl compares content[-1] (an int under Python 3) with '\\x00' " +
          "(a str), so every non-empty EMULATOR_XENSTORE_DATA is 'Data not NUL terminated'",
        reference: { exitCode: 1, message: "Data not NUL terminated" },
      },
    ),
  ];
}
