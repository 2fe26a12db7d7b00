/**
 * Encoders always pad records to 8 octets with zeros and write the unpadded
 * length; decoders reject bodies that cannot hold their record's layout with
 * a {@linkcode RecordError} carrying the offset they were given.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RecordError } from "../../lib/errors.ts";
import { REC_TYPE } from "../../lib/libxc/constants.ts";
import {
  decodePageData,
  encodePageData,
  pageDataRecordSize,
  writePageData,
} from "../../lib/libxc/page_data.ts";
import {
  decodeLibxcRecord,
  encodeLibxcRecord,
  type LibxcRecord,
  type UnknownLibxcRecord,
} from "../../lib/libxc/records.ts";
import { LIBXL_REC_TYPE } from "../../lib/libxl/constants.ts";
import {
  decodeLibxlRecord,
  decodeXenstoreEntries,
  encodeLibxlRecord,
  encodeXenstoreEntries,
  type LibxlRecord,
} from "../../lib/libxl/records.ts";
import { encodeRecord } from "../../lib/record_header.ts";
import { concat, pack, patterned, text } from "../support/corpus/bytes.ts";

/** Asserts `rec` is header + `bodyLength` body + zero padding to 8. */
function assertPadded(rec: Uint8Array, type: number, bodyLength: number, what: string): void {
  const v = new DataView(rec.buffer, rec.byteOffset, rec.length);
  assert.equal(rec.length % 8, 0, `${what}: ${rec.length} bytes is not a multiple of 8`);
  assert.equal(rec.length, 8 + Math.ceil(bodyLength / 8) * 8, `${what}: size`);
  assert.equal(v.getUint32(0, true), type, `${what}: type`);
  assert.equal(v.getUint32(4, true), bodyLength, `${what}: header length is the unpadded body`);
  assert.ok(rec.subarray(8 + bodyLength).every((b) => b === 0), `${what}: padding not zero`);
}

const LENGTHS = Array.from({ length: 18 }, (_, i) => i);

Deno.test("encodeRecord pads every body length to 8 with zeros", () => {
  for (const n of LENGTHS) assertPadded(encodeRecord(0x7, patterned(n)), 0x7, n, `length ${n}`);
});

Deno.test("libxc record encoders pad to 8 whatever the body length", () => {
  const cases: [string, (n: number) => LibxcRecord | UnknownLibxcRecord, (n: number) => number][] =
    [
      [
        "vcpu context",
        (n) => ({
          type: REC_TYPE.X86_PV_VCPU_XSAVE,
          vcpuId: 1,
          reserved: 0,
          context: patterned(n),
        }),
        (n) => 8 + n,
      ],
      ["HVM context", (n) => ({ type: REC_TYPE.HVM_CONTEXT, data: patterned(n) }), (n) => n],
      ["toolstack", (n) => ({ type: REC_TYPE.TOOLSTACK, data: patterned(n) }), (n) => n],
      ["shared info", () => ({ type: REC_TYPE.SHARED_INFO, data: patterned(4096) }), () => 4096],
      ["unknown type", (n) => ({ type: 0x99, data: patterned(n), unknown: true }), (n) => n],
      [
        "p2m frames",
        (n) => ({
          type: REC_TYPE.X86_PV_P2M_FRAMES,
          p2mStartPfn: 0,
          p2mEndPfn: 9,
          p2mPfns: Array(n).fill(5n),
        }),
        (n) => 8 + 8 * n,
      ],
      [
        "HVM params",
        (n) => ({
          type: REC_TYPE.HVM_PARAMS,
          reserved: 0,
          params: Array(n).fill({ index: 1n, value: 2n }),
        }),
        (n) => 8 + 16 * n,
      ],
      [
        "CPUID policy",
        (n) => ({
          type: REC_TYPE.X86_CPUID_POLICY,
          leaves: Array(n).fill({ leaf: 1, subleaf: 0, a: 1, b: 2, c: 3, d: 4 }),
        }),
        (n) => 24 * n,
      ],
      [
        "MSR policy",
        (n) => ({
          type: REC_TYPE.X86_MSR_POLICY,
          msrs: Array(n).fill({ idx: 0xce, flags: 0, val: 1n }),
        }),
        (n) => 16 * n,
      ],
      [
        "TSC info",
        () => ({
          type: REC_TYPE.X86_TSC_INFO,
          mode: 1,
          khz: 2,
          nsec: 3n,
          incarnation: 4,
          reserved: 0,
        }),
        () => 24,
      ],
      [
        "PV info",
        () => ({
          type: REC_TYPE.X86_PV_INFO,
          guestWidth: 8,
          ptLevels: 4,
          reserved1: 0,
          reserved2: 0,
        }),
        () => 8,
      ],
      [
        "dirty pfn list",
        (n) => ({ type: REC_TYPE.CHECKPOINT_DIRTY_PFN_LIST, pfns: Array(n).fill(3n) }),
        (n) => 8 * n,
      ],
    ];
  for (const [what, make, bodyLength] of cases) {
    for (const n of LENGTHS) {
      const rec = make(n);
      assertPadded(encodeLibxcRecord(rec), rec.type, bodyLength(n), `${what} (${n})`);
    }
  }
  for (
    const type of [
      REC_TYPE.END,
      REC_TYPE.VERIFY,
      REC_TYPE.CHECKPOINT,
      REC_TYPE.STATIC_DATA_END,
    ] as const
  ) {
    assertPadded(encodeLibxcRecord({ type } as LibxcRecord), type, 0, `type ${type}`);
  }
});

Deno.test("libxl record encoders pad to 8 whatever the body length", () => {
  for (const n of LENGTHS) {
    assertPadded(
      encodeLibxlRecord({
        type: LIBXL_REC_TYPE.EMULATOR_CONTEXT,
        emulatorId: 2,
        index: 0,
        data: patterned(n),
      }),
      LIBXL_REC_TYPE.EMULATOR_CONTEXT,
      8 + n,
      `emulator context (${n})`,
    );
    const entries = [{ key: "k".repeat(n + 1), value: "v".repeat(n) }];
    assertPadded(
      encodeLibxlRecord({
        type: LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA,
        emulatorId: 1,
        index: 2,
        entries,
      }),
      LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA,
      8 + (n + 2) + (n + 1),
      `xenstore data (${n})`,
    );
    assertPadded(
      encodeLibxlRecord({ type: 0x77, data: patterned(n), unknown: true }),
      0x77,
      n,
      `unknown (${n})`,
    );
  }
  assertPadded(
    encodeLibxlRecord({ type: LIBXL_REC_TYPE.CHECKPOINT_STATE, controlId: 3 }),
    5,
    4,
    "checkpoint state",
  );
  for (
    const type of [
      LIBXL_REC_TYPE.END,
      LIBXL_REC_TYPE.LIBXC_CONTEXT,
      LIBXL_REC_TYPE.CHECKPOINT_END,
    ] as const
  ) {
    assertPadded(encodeLibxlRecord({ type } as LibxlRecord), type, 0, `type ${type}`);
  }
});

Deno.test("writePageData zeroes what it does not write, in a reused dirty buffer", () => {
  const pfns = [7, 8, 9], types = [0, 0xf, 1];
  const pages = concat(patterned(4096, 7), patterned(4096, 9));
  const size = pageDataRecordSize(3, 2);
  const out = new Uint8Array(size + 16).fill(0xaa);
  assert.equal(writePageData(out, 8, pfns, types, pages), size);
  assert.deepEqual(out.subarray(8, 8 + size), encodePageData(pfns, types, pages));
  assert.ok(
    out.subarray(0, 8).every((b) => b === 0xaa) && out.subarray(8 + size).every((b) => b === 0xaa),
    "stays in bounds",
  );
  const pd = decodePageData(out.subarray(16, 8 + size));
  assert.deepEqual([...pd.pfns], pfns);
  assert.deepEqual([...pd.types], types);
  assert.equal(pd.reserved, 0, "the reserved word is written, not left dirty");
});

Deno.test("libxc decoders reject structurally impossible bodies with a located RecordError", () => {
  const at = 123_456;
  const cases: [string, number, Uint8Array][] = [
    ["END with a body", REC_TYPE.END, new Uint8Array(8)],
    ["VERIFY with a body", REC_TYPE.VERIFY, new Uint8Array(1)],
    ["CHECKPOINT with a body", REC_TYPE.CHECKPOINT, new Uint8Array(8)],
    ["STATIC_DATA_END with a body", REC_TYPE.STATIC_DATA_END, new Uint8Array(8)],
    ["PAGE_DATA shorter than its header", REC_TYPE.PAGE_DATA, new Uint8Array(4)],
    ["PAGE_DATA count beyond the body", REC_TYPE.PAGE_DATA, pack("<IIQ", 2, 0, 1n)],
    ["PAGE_DATA missing a page", REC_TYPE.PAGE_DATA, pack("<IIQ", 1, 0, 1n)],
    [
      "PAGE_DATA with a page for an XTAB entry",
      REC_TYPE.PAGE_DATA,
      concat(pack("<IIQ", 1, 0, 0xfn << 60n), patterned(4096)),
    ],
    ["X86_PV_INFO of 4 bytes", REC_TYPE.X86_PV_INFO, new Uint8Array(4)],
    ["X86_PV_INFO of 16 bytes", REC_TYPE.X86_PV_INFO, new Uint8Array(16)],
    ["X86_PV_P2M_FRAMES of 4 bytes", REC_TYPE.X86_PV_P2M_FRAMES, new Uint8Array(4)],
    ["X86_PV_P2M_FRAMES of 12 bytes", REC_TYPE.X86_PV_P2M_FRAMES, new Uint8Array(12)],
    ["X86_PV_VCPU_BASIC of 4 bytes", REC_TYPE.X86_PV_VCPU_BASIC, new Uint8Array(4)],
    ["X86_PV_VCPU_MSRS of 7 bytes", REC_TYPE.X86_PV_VCPU_MSRS, new Uint8Array(7)],
    ["SHARED_INFO of 4095 bytes", REC_TYPE.SHARED_INFO, new Uint8Array(4095)],
    ["X86_TSC_INFO of 16 bytes", REC_TYPE.X86_TSC_INFO, new Uint8Array(16)],
    ["HVM_PARAMS of 4 bytes", REC_TYPE.HVM_PARAMS, new Uint8Array(4)],
    ["HVM_PARAMS count beyond the body", REC_TYPE.HVM_PARAMS, pack("<IIQQ", 2, 0, 1n, 2n)],
    ["HVM_PARAMS with a stray half entry", REC_TYPE.HVM_PARAMS, pack("<IIQQQ", 1, 0, 1n, 2n, 3n)],
    [
      "CHECKPOINT_DIRTY_PFN_LIST of 12 bytes",
      REC_TYPE.CHECKPOINT_DIRTY_PFN_LIST,
      new Uint8Array(12),
    ],
    ["X86_CPUID_POLICY of 30 bytes", REC_TYPE.X86_CPUID_POLICY, new Uint8Array(30)],
    ["X86_MSR_POLICY of 20 bytes", REC_TYPE.X86_MSR_POLICY, new Uint8Array(20)],
  ];
  for (const [what, type, body] of cases) {
    assert.throws(() => decodeLibxcRecord(type, body, at), (e) => {
      assert.ok(e instanceof RecordError, `${what}: ${e}`);
      assert.equal(e.offset, at, what);
      return true;
    }, what);
  }
});

Deno.test("libxl decoders reject structurally impossible bodies with a located RecordError", () => {
  const at = 4242;
  const emu = (data: Uint8Array) => concat(pack("<II", 2, 0), data);
  const cases: [string, number, Uint8Array][] = [
    ["END with a body", LIBXL_REC_TYPE.END, new Uint8Array(8)],
    ["LIBXC_CONTEXT with a body", LIBXL_REC_TYPE.LIBXC_CONTEXT, new Uint8Array(8)],
    ["CHECKPOINT_END with a body", LIBXL_REC_TYPE.CHECKPOINT_END, new Uint8Array(4)],
    ["EMULATOR_XENSTORE_DATA of 4 bytes", LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA, new Uint8Array(4)],
    ["xenstore data not NUL terminated", LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA, emu(text("a\0b"))],
    [
      "xenstore data with an odd number of strings",
      LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA,
      emu(text("a\0b\0c\0")),
    ],
    [
      "xenstore data not UTF-8",
      LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA,
      emu(new Uint8Array([0xff, 0, 0x41, 0])),
    ],
    ["EMULATOR_CONTEXT of 7 bytes", LIBXL_REC_TYPE.EMULATOR_CONTEXT, new Uint8Array(7)],
    ["CHECKPOINT_STATE of 0 bytes", LIBXL_REC_TYPE.CHECKPOINT_STATE, new Uint8Array(0)],
    ["CHECKPOINT_STATE of 8 bytes", LIBXL_REC_TYPE.CHECKPOINT_STATE, new Uint8Array(8)],
  ];
  for (const [what, type, body] of cases) {
    assert.throws(() => decodeLibxlRecord(type, body, at), (e) => {
      assert.ok(e instanceof RecordError, `${what}: ${e}`);
      assert.equal(e.offset, at, what);
      return true;
    }, what);
  }
});

Deno.test("xenstore entries round-trip, including empty values and UTF-8", () => {
  const entries = [
    { key: "physmap/1/name", value: "vga.vram" },
    { key: "empty", value: "" },
    { key: "utf8", value: "gr\u00fc\u00df" },
  ];
  const bytes = encodeXenstoreEntries(entries);
  assert.equal(bytes.at(-1), 0);
  assert.deepEqual(decodeXenstoreEntries(bytes), entries);
  assert.deepEqual(encodeXenstoreEntries([]), new Uint8Array(0));
  assert.deepEqual(decodeXenstoreEntries(new Uint8Array(0)), []);
});
