/**
 * Regression tests for the restore bugs the fuzzer found (the crashers in
 * `crashers/` replay the fuzzed inputs; these build minimal streams by
 * hand from a stream the engine saved, and check the exact outcome):
 *
 * - a libxl stream with a second LIBXC_CONTEXT made restore create a second
 *   domain, leaking the first (and mapping pfns populated only in the first);
 * - an HVM_PARAMS index above 32 bits reached the FFI as a TypeError.
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
import { type HypervisorSession, openHypervisor } from "../../lib/xen/open.ts";
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
