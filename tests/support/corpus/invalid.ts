/**
 * Malformed streams: one for every check Xen 4.17's `verify-stream-v2` makes
 * (`xen/migration/libxc.py`, `libxl.py` and the script's xl header code) and
 * truncation inside every structure of every layer.  Each item says which
 * message xenmig must give and, where the corpus knows it, at which offset.
 *
 * @module
 */

import { concat, pack, text } from "./bytes.ts";
import {
  checkpointEnd,
  cpuidPolicy,
  dirtyPfnList,
  EMULATOR,
  emulatorContext,
  emulatorXenstoreData,
  hvmContext,
  hvmParams,
  LIBXC,
  libxcContext,
  libxcEnd,
  libxcRec,
  LIBXL,
  libxlEnd,
  libxlRec,
  msrPolicy,
  p2mFrames,
  PAGE,
  pageContents,
  pageData,
  pfnRange,
  PV_VCPU,
  pvInfo,
  pvVcpu,
  type Rec,
  sharedInfo,
  staticDataEnd,
  tagged,
  toolstack,
  tscInfo,
  TYPICAL_CPUID,
  TYPICAL_MSRS,
  withRec,
  xenstorePairs,
} from "./records.ts";
import {
  DOMAIN,
  DOMAIN_CONFIG_JSON,
  type DomainHeaderSpec,
  type ImageHeaderSpec,
  type ImageSpec,
  join,
  libxcSegments,
  libxlSegments,
  offsetOf,
  type Segment,
  XL_FLAG,
  xlConfig,
  xlSegments,
} from "./streams.ts";
import type { CorpusItem } from "./types.ts";
import {
  checkpointedLibxlEntries,
  hvmImage,
  libxlHvmEntries,
  pv32Image,
  pv64Image,
  qemuRecords,
  xlHvmSegments,
} from "./valid.ts";

const TRUNCATED = "Stream truncated";

function invalid(
  name: string,
  format: CorpusItem["format"],
  segments: Segment[],
  message: string,
  offset: number | undefined,
  extra: Partial<CorpusItem> = {},
): CorpusItem {
  return {
    name,
    format,
    bytes: join(segments),
    expect: { exitCode: 1, message, offset },
    ...extra,
  };
}

/**
 * A libxc image with `bad` (tagged) after the static data and some page
 * data, so the verbose output leading up to it is exercised too.
 */
function imageWith(bad: Rec, opts: { version?: 2 | 3; domain?: "pv" | "hvm" } = {}): ImageSpec {
  const version = opts.version ?? 3;
  const pv = opts.domain === "pv";
  const statics = version === 3
    ? [
      ...(pv ? [pvInfo()] : []),
      cpuidPolicy(TYPICAL_CPUID),
      msrPolicy(TYPICAL_MSRS),
      staticDataEnd(),
    ]
    : pv
    ? [pvInfo()]
    : [];
  return {
    ihdr: { version },
    dhdr: { type: pv ? DOMAIN.PV : DOMAIN.HVM },
    records: [
      ...statics,
      ...(pv ? [p2mFrames(0, 0xf)] : []),
      pageData(pfnRange(0, 2)),
      pageData(pfnRange(2, 2)),
      tagged(bad),
      tscInfo(),
      libxcEnd(),
    ],
  };
}

/** An item whose libxc record `bad` breaks a rule; the error is at that record. */
function badLibxcRecord(
  name: string,
  bad: Rec,
  message: string,
  opts: { version?: 2 | 3; domain?: "pv" | "hvm"; extra?: Partial<CorpusItem> } = {},
): CorpusItem {
  const segs = libxcSegments(imageWith(bad, opts));
  return invalid(name, "libxc", segs, message, offsetOf(segs, "bad"), opts.extra);
}

/** An item whose libxl record `bad` breaks a rule. */
function badLibxlRecord(
  name: string,
  bad: Rec,
  message: string,
  extra: Partial<CorpusItem> = {},
): CorpusItem {
  const segs = libxlSegments([{ libxc: hvmImage(1) }, tagged(bad), libxlEnd()]);
  return invalid(name, "libxl", segs, message, offsetOf(segs, "bad"), extra);
}

function badImageHeader(
  name: string,
  ihdr: ImageHeaderSpec,
  message: string,
  extra: Partial<CorpusItem> = {},
) {
  return invalid(name, "libxc", libxcSegments({ ...hvmImage(1), ihdr }), message, 0, extra);
}

function badDomainHeader(name: string, dhdr: DomainHeaderSpec, message: string) {
  return invalid(name, "libxc", libxcSegments({ ...hvmImage(1), dhdr }), message, 24);
}

function badLibxlHeader(
  name: string,
  hdr: { ident?: bigint; version?: number; options?: number },
  message: string,
  extra: Partial<CorpusItem> = {},
) {
  return invalid(name, "libxl", libxlSegments(libxlHvmEntries(), hdr), message, 0, extra);
}

const NOT_NATIVE = "Stream is not native endianess - unable to validate";
const ENDIAN_BUG =
  "Xen tests options & IHDR_OPT_BIT_ENDIAN (a bit number, 0) against IHDR_OPT_LE, " +
  "so a big-endian options bit is never detected and the stream is reported little endian";

/** Header checks: xl, libxc image and domain headers, libxl header. */
function headerItems(): CorpusItem[] {
  const inner = libxlSegments(libxlHvmEntries());
  return [
    invalid(
      "xl-bad-magic",
      "xl",
      xlSegments({
        magic: text("Xen saved domain, xm format\n \0 \r"),
        mflags: XL_FLAG.STREAMV2,
      }, inner),
      "No xl header",
      0,
    ),
    invalid(
      "xl-flags-say-streamv2-but-libxc-follows",
      "xl",
      xlSegments({ mflags: XL_FLAG.STREAMV2 }, libxcSegments(hvmImage(1))),
      "Bad image id: Expected 0x4c6962786c466d74, got 0xffffffffffffffff",
      48,
    ),
    invalid(
      "xl-no-streamv2-flag-but-libxl-follows",
      "xl",
      xlSegments({ mflags: XL_FLAG.JSON, optional: xlConfig("{}") }, inner),
      "Bad image marker: Expected 0xffffffffffffffff, got 0x4c6962786c466d74",
      48 + 4 + 3,
    ),
    badImageHeader(
      "libxc-image-bad-marker",
      { marker: 0xfffffffffffffffen },
      "Bad image marker: Expected 0xffffffffffffffff, got 0xfffffffffffffffe",
    ),
    badImageHeader(
      "libxc-image-bad-id",
      { id: 0x58454e47 },
      "Bad image id: Expected 0x58454e46, got 0x58454e47",
    ),
    badImageHeader(
      "libxc-image-version-1",
      { version: 1 },
      "Unknown image version: Expected 2 <= ver <= 3, got 1",
    ),
    badImageHeader(
      "libxc-image-version-4",
      { version: 4 },
      "Unknown image version: Expected 2 <= ver <= 3, got 4",
    ),
    badImageHeader(
      "libxc-image-options-reserved-bit-1",
      { options: 0x0002 },
      "Reserved bits set in image options field: 0x2",
    ),
    badImageHeader(
      "libxc-image-options-reserved-bit-15-and-endian",
      { options: 0x8001 },
      "Reserved bits set in image options field: 0x8000",
    ),
    badImageHeader(
      "libxc-image-reserved-16",
      { res1: 1 },
      "Reserved bits set in image header: 0x0001:0x00000000",
    ),
    badImageHeader(
      "libxc-image-reserved-32",
      { res2: 0xdeadbeef },
      "Reserved bits set in image header: 0x0000:0xdeadbeef",
    ),
    badImageHeader("libxc-image-big-endian-option", { options: 0x0001 }, NOT_NATIVE, {
      pythonBug: ENDIAN_BUG,
      reference: { exitCode: 0 },
    }),
    badDomainHeader("libxc-domain-type-0", { type: 0 }, "Unrecognised domain type 0x0"),
    badDomainHeader("libxc-domain-type-3-arm", { type: 3 }, "Unrecognised domain type 0x3"),
    badDomainHeader(
      "libxc-domain-reserved",
      { res: 0x100 },
      "Reserved bits set in domain header 0x0100",
    ),
    badDomainHeader(
      "libxc-domain-page-shift-13",
      { pageShift: 13 },
      "Page shift expected to be 12.  Got 13",
    ),
    badDomainHeader(
      "libxc-domain-page-shift-21",
      { pageShift: 21 },
      "Page shift expected to be 12.  Got 21",
    ),
    badLibxlHeader(
      "libxl-header-bad-ident",
      { ident: 0x4c6962786c466d75n },
      "Bad image id: Expected 0x4c6962786c466d74, got 0x4c6962786c466d75",
    ),
    badLibxlHeader(
      "libxl-header-version-1",
      { version: 1 },
      "Unknown image version: Expected 2, got 1",
    ),
    badLibxlHeader(
      "libxl-header-version-3",
      { version: 3 },
      "Unknown image version: Expected 2, got 3",
    ),
    badLibxlHeader(
      "libxl-header-options-reserved-bit-2",
      { options: 4 },
      "Reserved bits set in image options field: 0x4",
    ),
    badLibxlHeader(
      "libxl-header-options-reserved-bit-15",
      { options: 0x8002 },
      "Reserved bits set in image options field: 0x8000",
    ),
    badLibxlHeader("libxl-header-big-endian-option", { options: 1 }, NOT_NATIVE, {
      pythonBug: ENDIAN_BUG.replaceAll("IHDR_", "HDR_"),
      reference: { exitCode: 0 },
    }),
  ];
}

/** Every rule of every libxc record verifier in `libxc.py`. */
function libxcRecordItems(): CorpusItem[] {
  const items: CorpusItem[] = [
    badLibxcRecord(
      "libxc-unknown-record-type-0x13",
      libxcRec(0x13, new Uint8Array(8)),
      "Unrecognised record type 0x13",
    ),
    badLibxcRecord(
      "libxc-unknown-optional-record-type",
      libxcRec(0x80000001, new Uint8Array(8)),
      "Unrecognised record type 0x80000001",
    ),
    badLibxcRecord(
      "libxc-padding-not-zero",
      withRec(pvVcpu("basic", 0, 12), { padding: new Uint8Array([0, 0, 1, 0]) }),
      "Padding containing non0 bytes found",
      { domain: "pv" },
    ),
    badLibxcRecord(
      "libxc-end-with-body",
      withRec(libxcEnd(), { body: new Uint8Array(8) }),
      "End record with non-zero length",
    ),
    badLibxcRecord(
      "libxc-page-data-empty-body",
      libxcRec(LIBXC.PAGE_DATA),
      "PAGE_DATA record must be at least 8 bytes long",
    ),
    badLibxcRecord(
      "libxc-page-data-count-0",
      pageData([]),
      "PAGE_DATA record must be at least 8 bytes long",
    ),
    badLibxcRecord(
      "libxc-page-data-reserved",
      pageData(pfnRange(4, 1), { reserved: 1 }),
      "Reserved bits set in PAGE_DATA record 0x0001",
    ),
    badLibxcRecord(
      "libxc-page-data-count-exceeds-pfns",
      pageData(pfnRange(4, 1), { count: 3, pages: new Uint8Array(0) }),
      "PAGE_DATA record must contain a pfn record for each count",
    ),
    badLibxcRecord(
      "libxc-page-data-pfn-reserved-bits",
      pageData([{ pfn: 4 }, { pfn: 5, reservedBits: 1 }]),
      "Reserved bits set in pfn[1]: 0x0010000000000000",
    ),
    ...[5, 6, 7, 8].map((type) =>
      badLibxcRecord(
        `libxc-page-data-invalid-type-${type}`,
        pageData([{ pfn: 4, type }]),
        `Invalid type value in pfn[0]: 0x${type.toString(16)}000000000000000`,
      )
    ),
    badLibxcRecord(
      "libxc-page-data-missing-page",
      pageData(pfnRange(4, 2), { pages: pageContents(4) }),
      "Expected 8 + 16 + 8192, got 4120",
    ),
    badLibxcRecord(
      "libxc-page-data-page-for-xtab",
      pageData([{ pfn: 4, type: PAGE.XTAB }], { pages: pageContents(4) }),
      "Expected 8 + 8 + 0, got 4112",
    ),
    badLibxcRecord(
      "libxc-pv-info-short",
      libxcRec(LIBXC.X86_PV_INFO, pack("<BBH", 8, 4, 0)),
      "x86_pv_info: expected length of 8, got 4",
      { domain: "pv", version: 2 },
    ),
    badLibxcRecord("libxc-pv-info-width-2", pvInfo(2, 4), "Expected width of 4 or 8, got 2", {
      domain: "pv",
      version: 2,
    }),
    badLibxcRecord("libxc-pv-info-levels-2", pvInfo(8, 2), "Expected levels of 3 or 4, got 2", {
      domain: "pv",
      version: 2,
    }),
    badLibxcRecord(
      "libxc-pv-info-reserved-16",
      pvInfo(8, 4, 1, 0),
      "Reserved bits set in X86_PV_INFO: 0x0001 0x00000000",
      { domain: "pv", version: 2 },
    ),
    badLibxcRecord(
      "libxc-pv-info-reserved-32",
      pvInfo(8, 4, 0, 0x80),
      "Reserved bits set in X86_PV_INFO: 0x0000 0x00000080",
      { domain: "pv", version: 2 },
    ),
    badLibxcRecord(
      "libxc-p2m-frames-short",
      libxcRec(LIBXC.X86_PV_P2M_FRAMES, pack("<I", 0)),
      "x86_pv_p2m_frames: record length must be at least 8 bytes long",
      { domain: "pv" },
    ),
    badLibxcRecord(
      "libxc-p2m-frames-not-multiple-of-8",
      libxcRec(LIBXC.X86_PV_P2M_FRAMES, pack("<III", 0, 7, 1)),
      "Length expected to be a multiple of 8, not 12",
      { domain: "pv" },
    ),
    badLibxcRecord(
      "libxc-shared-info-short",
      sharedInfo(4095),
      "Length expected to be 4906 bytes, not 4095",
      {
        domain: "pv",
      },
    ),
    badLibxcRecord(
      "libxc-shared-info-long",
      sharedInfo(8192),
      "Length expected to be 4906 bytes, not 8192",
      {
        domain: "pv",
      },
    ),
    badLibxcRecord(
      "libxc-tsc-info-short",
      libxcRec(LIBXC.X86_TSC_INFO, pack("<IIQ", 0, 0, 0n)),
      "Length should be 24 bytes",
    ),
    badLibxcRecord(
      "libxc-tsc-info-reserved",
      tscInfo(0, 0, 0n, 1, 1),
      "Reserved bits set in X86_TSC_INFO: 0x00000001",
    ),
    badLibxcRecord(
      "libxc-hvm-context-empty",
      hvmContext(new Uint8Array(0)),
      "Zero length HVM context",
    ),
    badLibxcRecord(
      "libxc-hvm-params-short",
      libxcRec(LIBXC.HVM_PARAMS, pack("<I", 0)),
      "Length should be at least 8 bytes",
    ),
    badLibxcRecord(
      "libxc-hvm-params-reserved",
      hvmParams([[1n, 2n]], { reserved: 1 }),
      "Reserved field not zero (0x0001)",
    ),
    badLibxcRecord(
      "libxc-hvm-params-count-exceeds-entries",
      hvmParams([[1n, 2n]], { count: 2 }),
      "Length should be 40 bytes",
    ),
    badLibxcRecord(
      "libxc-verify-with-body",
      libxcRec(LIBXC.VERIFY, new Uint8Array(8)),
      "Verify record with non-zero length",
    ),
    badLibxcRecord(
      "libxc-checkpoint-with-body",
      libxcRec(LIBXC.CHECKPOINT, new Uint8Array(8)),
      "Checkpoint record with non-zero length",
    ),
    badLibxcRecord(
      "libxc-checkpoint-dirty-pfn-list",
      dirtyPfnList([1n, 2n, 3n]),
      "Found checkpoint dirty pfn list record in stream",
    ),
    badLibxcRecord(
      "libxc-static-data-end-with-body",
      libxcRec(LIBXC.STATIC_DATA_END, new Uint8Array(8)),
      "End record with non-zero length",
    ),
    badLibxcRecord(
      "libxc-static-data-end-in-v2",
      staticDataEnd(),
      "Static data end record found in v2 stream",
      { version: 2 },
    ),
    badLibxcRecord(
      "libxc-cpuid-policy-in-v2",
      cpuidPolicy(TYPICAL_CPUID),
      "x86 CPUID policy record found in v2 stream",
      { version: 2 },
    ),
    badLibxcRecord(
      "libxc-cpuid-policy-empty",
      cpuidPolicy([]),
      "Record length 0, expected multiple of 24",
    ),
    badLibxcRecord(
      "libxc-cpuid-policy-partial-leaf",
      libxcRec(LIBXC.X86_CPUID_POLICY, new Uint8Array(30)),
      "Record length 30, expected multiple of 24",
    ),
    badLibxcRecord(
      "libxc-msr-policy-in-v2",
      msrPolicy(TYPICAL_MSRS),
      "x86 MSR policy record found in v2 stream",
      {
        version: 2,
      },
    ),
    badLibxcRecord(
      "libxc-msr-policy-partial-entry",
      libxcRec(LIBXC.X86_MSR_POLICY, new Uint8Array(20)),
      "Record length 20, expected multiple of 16",
    ),
    badLibxcRecord(
      "libxc-msr-policy-empty",
      msrPolicy([]),
      "Record length 0, expected multiple of 16",
    ),
    badLibxcRecord("libxc-toolstack", toolstack(), "Found Toolstack record in stream", {
      extra: {
        pythonBug:
          "Xen raises DeprecationWarning for TOOLSTACK, which its script reports as an internal " +
          "'Script Error' (exit 2); a deprecated record in the input is a fault of the stream (exit 1)",
        reference: { exitCode: 2, message: "Found Toolstack record in stream" },
      },
    }),
  ];
  for (const kind of Object.keys(PV_VCPU) as (keyof typeof PV_VCPU)[]) {
    items.push(
      badLibxcRecord(
        `libxc-pv-vcpu-${kind}-short`,
        libxcRec(PV_VCPU[kind], pack("<I", 0)),
        `X86_PV_VCPU_${kind} record length must be at least 8 bytes long`,
        { domain: "pv" },
      ),
      badLibxcRecord(
        `libxc-pv-vcpu-${kind}-reserved`,
        pvVcpu(kind, 1, 16, 1),
        `Reserved bits set in x86_pv_vcpu_${kind} record 0x0001`,
        { domain: "pv" },
      ),
    );
  }
  return items;
}

const XENSTORE_BUG =
  "xen.migration.libxl compares content[-1] (an int under Python 3) with '\\x00', " +
  "so it reports 'Data not NUL terminated' before it can count the strings";

/** Every rule of every libxl record verifier in `libxl.py`. */
function libxlRecordItems(): CorpusItem[] {
  return [
    badLibxlRecord(
      "libxl-unknown-record-type-6",
      libxlRec(6, new Uint8Array(8)),
      "Unrecognised record type 6",
    ),
    badLibxlRecord(
      "libxl-unknown-optional-record-type",
      libxlRec(0x80000000),
      "Unrecognised record type 80000000",
    ),
    badLibxlRecord(
      "libxl-padding-not-zero",
      withRec(emulatorContext(EMULATOR.QEMU_UPSTREAM, 0, new Uint8Array(3)), {
        padding: new Uint8Array([0, 0, 0, 0, 7]),
      }),
      "Padding containing non0 bytes found",
    ),
    badLibxlRecord(
      "libxl-end-with-body",
      withRec(libxlEnd(), { body: new Uint8Array(8) }),
      "End record with non-zero length",
    ),
    badLibxlRecord(
      "libxl-libxc-context-with-body",
      withRec(libxcContext(), { body: new Uint8Array(8) }),
      "Libxc context record with non-zero length",
    ),
    badLibxlRecord(
      "libxl-xenstore-data-short",
      libxlRec(LIBXL.EMULATOR_XENSTORE_DATA, pack("<I", 2)),
      "Length must be at least 8 bytes, got 4",
    ),
    badLibxlRecord(
      "libxl-xenstore-data-bad-emulator",
      emulatorXenstoreData(3, 0, new Uint8Array(0)),
      "Unrecognised emulator id 0x3",
    ),
    badLibxlRecord(
      "libxl-xenstore-data-not-nul-terminated",
      emulatorXenstoreData(EMULATOR.QEMU_UPSTREAM, 0, text("physmap\0x")),
      "Data not NUL terminated",
    ),
    badLibxlRecord(
      "libxl-xenstore-data-odd-strings",
      emulatorXenstoreData(
        EMULATOR.QEMU_UPSTREAM,
        0,
        concat(xenstorePairs([["a", "b"]]), text("c\0")),
      ),
      "Expected an even number of strings, got 3",
      { pythonBug: XENSTORE_BUG, reference: { exitCode: 1, message: "Data not NUL terminated" } },
    ),
    badLibxlRecord(
      "libxl-emulator-context-short",
      libxlRec(LIBXL.EMULATOR_CONTEXT, new Uint8Array(7)),
      "Length must be at least 8 bytes, got 7",
    ),
    badLibxlRecord(
      "libxl-emulator-context-bad-emulator",
      emulatorContext(7, 0, new Uint8Array(16)),
      "Unrecognised emulator id 0x7",
    ),
    badLibxlRecord(
      "libxl-checkpoint-end-with-body",
      withRec(checkpointEnd(), { body: new Uint8Array(8) }),
      "Checkpoint end record with non-zero length",
    ),
    badLibxlRecord(
      "libxl-checkpoint-state-empty",
      libxlRec(LIBXL.CHECKPOINT_STATE),
      "Checkpoint state record with zero length",
    ),
  ];
}

/** Errors inside nested layers: libxc in libxl, libxl in xl, the second image of a checkpointed stream. */
function nestedItems(): CorpusItem[] {
  const xl = (inner: Segment[]) =>
    xlSegments(
      { mflags: XL_FLAG.JSON | XL_FLAG.STREAMV2, optional: xlConfig(DOMAIN_CONFIG_JSON) },
      inner,
    );
  const nestedMarker = libxlSegments([
    { libxc: { ...hvmImage(1), ihdr: { marker: 0n } } },
    libxlEnd(),
  ]);
  const nestedRecord = xl(
    libxlSegments([
      { libxc: imageWith(pageData(pfnRange(9, 1), { reserved: 2 })) },
      ...qemuRecords(),
      libxlEnd(),
    ]),
  );
  const v1Record = xlSegments(
    { mflags: XL_FLAG.JSON, optional: xlConfig(DOMAIN_CONFIG_JSON) },
    libxcSegments(imageWith(pvVcpu("basic", 0, 8, 3), { domain: "pv", version: 2 })),
  );
  const entries = checkpointedLibxlEntries();
  const second = entries.findIndex((e, i) => i > 0 && "libxc" in e);
  entries[second] = { libxc: imageWith(withRec(libxcEnd(), { body: new Uint8Array(8) })) };
  const secondImage = libxlSegments(entries);
  return [
    invalid(
      "libxl-nested-libxc-bad-marker",
      "libxl",
      nestedMarker,
      "Bad image marker: Expected 0xffffffffffffffff, got 0x0",
      24,
    ),
    invalid(
      "xl-nested-libxc-page-data-reserved",
      "xl",
      nestedRecord,
      "Reserved bits set in PAGE_DATA record 0x0002",
      offsetOf(nestedRecord, "bad"),
    ),
    invalid(
      "xl-without-streamv2-libxc-vcpu-reserved",
      "xl",
      v1Record,
      "Reserved bits set in x86_pv_vcpu_basic record 0x0003",
      offsetOf(v1Record, "bad"),
    ),
    invalid(
      "libxl-checkpointed-second-image-bad-end",
      "libxl",
      secondImage,
      "End record with non-zero length",
      offsetOf(secondImage, "bad"),
    ),
  ];
}

/**
 * Truncation inside every structure of an xl save file (xl header, optional
 * data, libxl header and records, nested libxc headers and records) and at
 * the boundaries where a whole structure is missing.
 */
function truncationItems(): CorpusItem[] {
  const items: CorpusItem[] = [];
  const full = xlHvmSegments();
  const bytes = join(full);
  const seen = new Set<string>();
  let at = 0;
  const starts = full.map((s) => {
    const start = at;
    at += s.bytes.length;
    return start;
  });
  const cut = (
    name: string,
    format: CorpusItem["format"],
    data: Uint8Array,
    n: number,
    offset: number,
  ) =>
    items.push({
      name,
      format,
      bytes: data.slice(0, n),
      expect: { exitCode: 1, message: TRUNCATED, offset },
    });
  full.forEach((s, i) => {
    if (s.bytes.length < 2 || seen.has(s.label)) return;
    seen.add(s.label);
    const slug = s.label.replace(/[^a-z0-9]+/gi, "-").replace(/-+$/, "").toLowerCase();
    cut(`xl-truncated-in-${slug}`, "xl", bytes, starts[i] + (s.bytes.length >> 1), starts[i]);
  });
  const startOf = (label: string, nth = 0) => starts.filter((_, i) => full[i].label === label)[nth];
  cut("xl-empty", "xl", bytes, 0, 0);
  cut("xl-ends-after-xl-header", "xl", bytes, startOf("libxl header"), startOf("libxl header"));
  const libxlAfterLibxc = startOf("libxl record header (type 0x2)");
  cut("xl-ends-after-nested-libxc-end", "xl", bytes, libxlAfterLibxc, libxlAfterLibxc);
  const lastHeader = startOf("libxl record header (type 0x0)");
  cut("xl-ends-before-libxl-end", "xl", bytes, lastHeader, lastHeader);

  const libxc = join(libxcSegments(pv64Image(1)));
  cut("libxc-empty", "libxc", libxc, 0, 0);
  cut("libxc-truncated-in-image-header", "libxc", libxc, 10, 0);
  cut("libxc-truncated-in-domain-header", "libxc", libxc, 30, 24);
  cut("libxc-ends-after-headers", "libxc", libxc, 40, 40);
  const padded = libxcSegments(imageWith(pvVcpu("basic", 0, 12), { domain: "pv" }));
  const paddedBody = offsetOf(padded, "bad") + 8;
  cut("libxc-truncated-in-padding", "libxc", join(padded), paddedBody + 22, paddedBody);
  const libxl = join(libxlSegments([{ libxc: pv32Image() }, libxlEnd()]));
  cut("libxl-empty", "libxl", libxl, 0, 0);
  cut("libxl-truncated-in-header", "libxl", libxl, 12, 0);
  cut("libxl-ends-after-header", "libxl", libxl, 16, 16);
  cut("libxl-truncated-in-nested-image-header", "libxl", libxl, 16 + 8 + 5, 24);
  cut("libxl-missing-end", "libxl", libxl, libxl.length - 8, libxl.length - 8);
  const xlShort = join(xlSegments({ mflags: XL_FLAG.STREAMV2 }, libxlSegments(libxlHvmEntries())));
  cut("xl-truncated-in-magic", "xl", xlShort, 31, 0);
  cut("xl-truncated-in-header-words", "xl", xlShort, 47, 32);
  items.push({
    name: "xl-optional-data-length-overruns-stream",
    format: "xl",
    bytes: join(
      xlSegments({ mflags: XL_FLAG.STREAMV2, optlen: 4096, optional: xlConfig("{}") }, []),
    ),
    expect: { exitCode: 1, message: TRUNCATED, offset: 48 },
  });
  items.push({
    name: "libxc-record-length-overruns-stream",
    format: "libxc",
    bytes: join(
      libxcSegments({
        records: [staticDataEnd(), withRec(pageData(pfnRange(0, 1)), { length: 65536 })],
      }),
    ),
    expect: { exitCode: 1, message: TRUNCATED, offset: 24 + 16 + 8 + 8 },
  });
  return items;
}

/** The invalid corpus items. */
export function invalidItems(): CorpusItem[] {
  return [
    ...headerItems(),
    ...libxcRecordItems(),
    ...libxlRecordItems(),
    ...nestedItems(),
    ...truncationItems(),
  ];
}
