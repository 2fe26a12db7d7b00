/**
 * The HVM context blob (`xen/public/hvm/save.h` save records): decoding
 * splits what the corpus lays out independently, re-encoding reproduces it,
 * and malformed blobs are RecordErrors located at the fault.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RecordError } from "../../lib/errors.ts";
import { decodeHvmContext, encodeHvmContext } from "../../lib/libxc/hvm_context.ts";
import { concat, patterned } from "../support/corpus/bytes.ts";
import {
  HVM_SAVE,
  HVM_SAVE_END,
  hvmBlob,
  hvmContextBlob,
  hvmSaveHeader,
} from "../support/corpus/records.ts";

Deno.test("HVM context: decode splits the save records; encode reproduces the blob", () => {
  for (const vcpus of [1, 2, 8]) {
    const blob = hvmContextBlob(vcpus);
    const recs = decodeHvmContext(blob);
    assert.deepEqual(
      recs.map((r) => [r.typecode, r.instance]),
      [[HVM_SAVE.HEADER, 0], ...Array.from({ length: vcpus }, (_, i) => [HVM_SAVE.CPU, i]), [
        HVM_SAVE.PIC,
        0,
      ], [0, 0]],
    );
    assert.deepEqual(recs[1].data, patterned(1024, 0));
    assert.equal(recs[1].data.buffer, blob.buffer, "save record data are views of the blob");
    assert.deepEqual(encodeHvmContext(recs), blob);
  }
  assert.deepEqual(encodeHvmContext([]), hvmBlob([HVM_SAVE_END]), "END is appended");
});

Deno.test("HVM context: malformed blobs are RecordErrors at the fault", () => {
  const base = 1000;
  const header = hvmBlob([hvmSaveHeader()]);
  const cases: [string, Uint8Array, number, RegExp][] = [
    ["empty", new Uint8Array(0), 0, /no END save record/],
    ["no END", header, header.length, /no END save record/],
    ["partial descriptor", concat(header, new Uint8Array(4)), header.length, /no END save record/],
    [
      "data overruns the blob",
      concat(
        header,
        hvmBlob([{ typecode: HVM_SAVE.CPU, instance: 0, data: new Uint8Array(16), length: 64 }]),
      ),
      header.length,
      /save record CPU of 64 bytes overruns the blob by 48/,
    ],
    [
      "bytes after END",
      concat(hvmContextBlob(1), new Uint8Array(3)),
      hvmContextBlob(1).length,
      /3 bytes after the END save record/,
    ],
  ];
  for (const [what, blob, at, message] of cases) {
    assert.throws(() => decodeHvmContext(blob, base), (e) => {
      assert.ok(e instanceof RecordError, what);
      assert.match(e.message, message, what);
      assert.equal(e.offset, base + at, what);
      return true;
    });
  }
});
