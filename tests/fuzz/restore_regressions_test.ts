/**
 * Regression tests for the restore bugs the fuzzer found (the crashers in
 * `crashers/` replay the fuzzed inputs; these build minimal streams by
 * hand from a stream the engine saved, and check the exact outcome):
 *
 * - a libxl stream with a second LIBXC_CONTEXT made restore create a second
 *   domain, leaking the first (and mapping pfns populated only in the first);
 * - an HVM_PARAMS index above 32 bits reached the FFI as a TypeError;
 * - the xl config (part of the untrusted stream) sized the domain: a
 *   `max_vcpus` above 32 bits reached the FFI as a TypeError, a huge
 *   `max_memkb` let pfns beyond the domain's range through to the
 *   hypervisor (the simulator counted an out-of-range access), and a
 *   hypervisor refusal at domain creation escaped as a bare XenError
 *   without an offset.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertStringIncludes } from "./assert.ts";
import { restoreStream } from "../../lib/engine/restore.ts";
import { SaveSession } from "../../lib/engine/save_session.ts";
import { RecordError, StreamError } from "../../lib/errors.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { REC_TYPE } from "../../lib/libxc/constants.ts";
import { encodeLibxcRecord } from "../../lib/libxc/records.ts";
import { LIBXL_REC_TYPE } from "../../lib/libxl/constants.ts";
import { encodeLibxlHeader } from "../../lib/libxl/header.ts";
import { encodeLibxlRecord } from "../../lib/libxl/records.ts";
import { RestoreError } from "../../lib/engine/restore.ts";
import { XenError } from "../../lib/xen/errors.ts";
import { type HypervisorSession, openHypervisor } from "../../lib/xen/open.ts";
import { encodeXlConfigData, encodeXlHeader, XL_MANDATORY_FLAG_JSON } from "../../lib/xl/header.ts";
import { minifyStream } from "./seeds.ts";
import { mapStream } from "./stream_map.ts";

/** A small libxc image of the simulated guest, as the engine saves it. */
async function savedImage(session: HypervisorSession): Promise<Uint8Array> {
  const out = memorySink();
  await new SaveSession(session.hv, session.domid!, out, { live: false, format: "libxc" }).run();
  return await minifyStream(bytesSource(out.bytes()), "libxc", { pageRecords: 1 });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** Restores `bytes`; returns the error and any domain left behind (then destroyed). */
async function restoreOutcome(
  session: HypervisorSession,
  bytes: Uint8Array,
): Promise<{ error: unknown; leaked: number[] }> {
  const before = new Set(session.hv.domains().map((d) => d.domid));
  let error: unknown;
  try {
    const r = await restoreStream(session.hv, bytesSource(bytes));
    session.hv.domain(r.domid).destroy();
  } catch (e) {
    error = e;
  }
  const leaked = session.hv.domains().map((d) => d.domid).filter((id) => !before.has(id));
  for (const id of leaked) session.hv.domain(id).destroy();
  return { error, leaked };
}

const libxlHeader = encodeLibxlHeader({});
const libxcContext = encodeLibxlRecord({ type: LIBXL_REC_TYPE.LIBXC_CONTEXT });
const libxlEnd = encodeLibxlRecord({ type: LIBXL_REC_TYPE.END });

Deno.test("restore refuses a second libxc image and leaves no domain behind", async () => {
  using session = await openHypervisor({ sim: "mem=64M" });
  const image = await savedImage(session);
  const once = concat(libxlHeader, libxcContext, image, libxlEnd);
  assertEquals((await restoreOutcome(session, once)).error, undefined); // the test can fail

  const twice = concat(libxlHeader, libxcContext, image, libxcContext, image, libxlEnd);
  const { error, leaked } = await restoreOutcome(session, twice);
  assertInstanceOf(error, StreamError);
  assertStringIncludes(error.message, "second libxc image");
  assertEquals(error.offset, libxlHeader.length + 2 * libxcContext.length + image.length);
  assertEquals(leaked, []);
});

Deno.test("restore refuses an HVM_PARAMS index wider than 32 bits as a record error", async () => {
  using session = await openHypervisor({ sim: "mem=64M" });
  const image = await savedImage(session);
  const params = mapStream(image, "libxc").spans.find((s) => s.type === REC_TYPE.HVM_PARAMS);
  assert(params);
  const bad = encodeLibxcRecord({
    type: REC_TYPE.HVM_PARAMS,
    reserved: 0,
    params: [{ index: 1n, value: 0xfeffcn }, { index: 0x400000000001n, value: 1n }],
  });
  const stream = concat(
    image.subarray(0, params.offset),
    bad,
    image.subarray(params.offset + params.size),
  );
  const { error, leaked } = await restoreOutcome(session, stream);
  assertInstanceOf(error, RecordError);
  assertStringIncludes(error.message, "HVM_PARAMS entry 1: index 0x400000000001");
  assertEquals(error.offset, params.offset);
  assertEquals(leaked, []);
});

/** An xl save file (JSON config, no STREAMv2: libxc follows) around `image`. */
function xlAround(image: Uint8Array, config: object): Uint8Array {
  return concat(
    encodeXlHeader(
      { mandatoryFlags: XL_MANDATORY_FLAG_JSON },
      encodeXlConfigData(JSON.stringify(config) + "\0"),
    ),
    image,
  );
}

Deno.test("restore ignores an xl config max_vcpus that is no 32-bit count", async () => {
  using session = await openHypervisor({ sim: "mem=64M" });
  const image = await savedImage(session);
  const stream = xlAround(image, { b_info: { max_vcpus: 2 ** 32 + 1, max_memkb: 65536 } });
  const { error, leaked } = await restoreOutcome(session, stream);
  assertEquals(error, undefined);
  assertEquals(leaked, []);
});

Deno.test("restore keeps pfns within the domain's address width whatever the config's memory", async () => {
  using session = await openHypervisor({ sim: "mem=64M" });
  const image = await savedImage(session);
  const page = mapStream(image, "libxc").spans.find((s) => s.type === REC_TYPE.PAGE_DATA);
  assert(page);
  const bad = image.slice();
  const v = new DataView(bad.buffer);
  v.setUint32(page.offset + 16, 0x500000, true); // pfn 0x500000: 20 GiB, past the 16 GiB space
  v.setUint32(page.offset + 20, 0, true);
  const before = session.sim!.globalStats().outOfRangeTotal;
  const { error, leaked } = await restoreOutcome(
    session,
    xlAround(bad, { b_info: { max_vcpus: 1, max_memkb: 32 * 1024 * 1024 } }),
  );
  assertInstanceOf(error, RecordError);
  assertStringIncludes(error.message, "pfn[0] 0x500000 is beyond the domain's limit 0x400000");
  assertEquals(session.sim!.globalStats().outOfRangeTotal - before, 0, "no out-of-range access");
  assertEquals(leaked, []);
});

Deno.test("restore reports a refused domain creation at the domain header", async () => {
  using session = await openHypervisor({ sim: "mem=64M" });
  const image = await savedImage(session);
  // The simulator (like Xen) refuses 129 vcpus.
  const stream = xlAround(image, { b_info: { max_vcpus: 129, max_memkb: 65536 } });
  const header = encodeXlHeader({}, new Uint8Array(0)).length;
  const config = encodeXlConfigData(
    JSON.stringify({ b_info: { max_vcpus: 129, max_memkb: 65536 } }) + "\0",
  ).length;
  const { error, leaked } = await restoreOutcome(session, stream);
  assertInstanceOf(error, RestoreError);
  assertInstanceOf(error.cause, XenError);
  assertEquals(error.offset, header + config + 24); // after the image header
  assertEquals(error.where, "libxc domain header");
  assertEquals(leaked, []);
});
