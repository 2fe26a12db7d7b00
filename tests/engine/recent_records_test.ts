import assert from "node:assert/strict";
import { SaveSession } from "../../lib/engine/save_session.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { openHypervisor } from "../../lib/xen/open.ts";

Deno.test("recentRecords: each record's own offset and size, contiguous, ending where the stream ends", async () => {
  using s = await openHypervisor({ sim: "mem=64M,rate=0" });
  const out = memorySink();
  const save = new SaveSession(s.hv, s.domid!, out, { format: "xl" });
  await save.start();
  s.sim!.writePages(s.domid!, [1, 2, 3]);
  await save.step();
  await save.finish();
  const records = save.recentRecords;
  assert.equal(records.at(-1)!.type, "libxl epilogue");
  const last = records.at(-1)!;
  assert.equal(last.offset + last.bytes, out.bytes().length, "the log ends where the stream ends");
  for (let i = 1; i < records.length; i++) {
    const p = records[i - 1];
    assert.equal(records[i].offset, p.offset + p.bytes, `record ${i} follows record ${i - 1}`);
  }
  const pageData = records.filter((r) => r.type === "PAGE_DATA");
  assert.ok(pageData.length > 1);
  for (const r of pageData) assert.ok(r.bytes > 0 && r.bytes % 8 === 0, `${r.bytes}`);
  // The stream at each PAGE_DATA offset is a PAGE_DATA record header (type 1).
  const bytes = out.bytes();
  for (const r of pageData) {
    assert.equal(new DataView(bytes.buffer).getUint32(r.offset, true), 1, `type at ${r.offset}`);
    assert.equal(new DataView(bytes.buffer).getUint32(r.offset + 4, true) + 8, r.bytes);
  }
});
