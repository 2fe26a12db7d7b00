/**
 * The corpus itself: it covers what it claims (every record type of both
 * layers, all formats, versions and guest types, every check of Xen's
 * verifier), and xenmig's in-process verifier gives every item the outcome,
 * message, offset and verbose lines the corpus expects.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StreamError } from "../../lib/errors.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { corpus, type CorpusItem } from "../support/corpus/mod.ts";
import { xenReference } from "../support/xen_packages.ts";

const items = corpus();

/** What one item's stream holds, as far as it parses. */
interface Contents {
  libxc: Set<number>;
  libxl: Set<number>;
  versions: Set<number>;
  domainTypes: Set<number>;
  xenMajors: Set<number>;
  pvWidths: Set<number>;
  libxlOptions: Set<number>;
  xlStreamV2: Set<boolean>;
}

async function contents(item: CorpusItem): Promise<Contents> {
  const c: Contents = {
    libxc: new Set(),
    libxl: new Set(),
    versions: new Set(),
    domainTypes: new Set(),
    xenMajors: new Set(),
    pvWidths: new Set(),
    libxlOptions: new Set(),
    xlStreamV2: new Set(),
  };
  try {
    for await (
      const ev of new StreamParser(bytesSource(item.bytes), { format: item.format }).events()
    ) {
      if (ev.kind === "record") {
        c[ev.layer].add(ev.type);
        if (ev.layer === "libxc" && ev.type === 2 && ev.body.length > 0) c.pvWidths.add(ev.body[0]);
      } else if (ev.kind === "image-header") c.versions.add(ev.header.version);
      else if (ev.kind === "domain-header") {
        c.domainTypes.add(ev.header.type);
        c.xenMajors.add(ev.header.xenMajor);
      } else if (ev.kind === "libxl-header") c.libxlOptions.add(ev.header.options);
      else if (ev.kind === "xl-header") c.xlStreamV2.add(ev.next === "libxl");
    }
  } catch (e) {
    if (!(e instanceof StreamError)) throw e;
  }
  return c;
}

async function union(selected: CorpusItem[]): Promise<Contents> {
  const all = await Promise.all(selected.map(contents));
  const u = all[0];
  for (const c of all.slice(1)) {
    for (const k of Object.keys(u) as (keyof Contents)[]) {
      for (const v of c[k]) (u[k] as Set<unknown>).add(v);
    }
  }
  return u;
}

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
const valid = items.filter((i) => i.expect.exitCode === 0 && !i.pythonBug);
const invalid = items.filter((i) => i.expect.exitCode !== 0);

Deno.test("corpus: names are unique and every invalid item names its expected message", () => {
  assert.equal(new Set(items.map((i) => i.name)).size, items.length);
  for (const i of invalid) assert.ok(i.expect.message, `${i.name} has no expected message`);
  for (const i of items.filter((x) => x.pythonBug)) {
    assert.ok(i.reference, `${i.name} says what Xen does`);
  }
});

Deno.test("corpus: valid streams hold every libxc record type Xen accepts and every libxl type", async () => {
  const c = await union(valid);
  // TOOLSTACK (0xb) and CHECKPOINT_DIRTY_PFN_LIST (0xf) are rejected by
  // Xen's verifier whatever they hold; they appear in invalid items.
  assert.deepEqual(sorted(c.libxc), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 16, 17, 18]);
  assert.deepEqual(sorted(c.libxl), [0, 1, 2, 3, 4, 5]);
  const all = await union(items);
  assert.deepEqual(
    sorted(all.libxc),
    Array.from({ length: 19 }, (_, i) => i).concat([0x13, 0x80000001]),
  );
});

Deno.test("corpus: valid streams cover PV 32/64-bit and HVM, v2 and v3, legacy, all formats", async () => {
  const c = await union(valid);
  assert.deepEqual(sorted(c.versions), [2, 3]);
  assert.deepEqual(sorted(c.domainTypes), [1, 2]);
  assert.deepEqual(sorted(c.pvWidths), [4, 8]);
  assert.ok(c.xenMajors.has(0), "a legacy-converted libxc stream (xen_major 0)");
  assert.ok(c.libxlOptions.has(2), "a libxl stream with the legacy option");
  assert.deepEqual([...c.xlStreamV2].sort(), [false, true], "xl with and without STREAMv2");
  for (const f of ["libxc", "libxl", "xl"]) {
    assert.ok(valid.some((i) => i.format === f), `valid ${f}`);
    assert.ok(invalid.some((i) => i.format === f), `invalid ${f}`);
  }
  const checkpointed = valid.filter((i) => i.name.includes("checkpointed"));
  assert.ok(checkpointed.length >= 3, "checkpointed libxc, libxl and xl streams");
});

Deno.test({
  name: "corpus: some item triggers every error message in Xen's verifier sources",
  ignore: typeof (await xenReference()) === "string",
  async fn() {
    const ref = await xenReference();
    if (typeof ref === "string") return;
    const sources = await Promise.all(
      ["xen/migration/libxc.py", "xen/migration/libxl.py", "xen/migration/verify.py"]
        .map((p) => Deno.readTextFile(`${ref.pythonPath}/${p}`))
        .concat(Deno.readTextFile(ref.verifyStreamV2)),
    );
    const formats = sources.flatMap(raisedMessages);
    assert.ok(formats.length > 60, `found only ${formats.length} raise statements`);
    const expected = invalid.map((i) => i.expect.message ?? "").concat(
      items.flatMap((i) => i.reference?.message ?? []),
    );
    const uncovered = formats.filter(({ kind, format }) =>
      kind !== "RuntimeError" && // "No verification function": every type has one
      !expected.some((m) => pythonFormatRegExp(format).test(m))
    );
    assert.deepEqual(uncovered, [], "checks of the reference no corpus item exercises");
  },
});

/** `raise Kind("..." "..." % ...)` → the kind and the concatenated format string. */
function raisedMessages(source: string): { kind: string; format: string }[] {
  const out: { kind: string; format: string }[] = [];
  for (const m of source.matchAll(/raise\s+(\w+)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)/g)) {
    const format = [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((s) => s[1]).join("");
    out.push({ kind: m[1], format });
  }
  return out;
}

/** A Python %-format as a regular expression matching its expansions. */
function pythonFormatRegExp(format: string): RegExp {
  const parts = format.split(/%0?\d*[xdus]/);
  return new RegExp(
    "^" + parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+?") + "$",
  );
}

Deno.test("corpus: the in-process verifier gives every item its expected outcome", async (t) => {
  for (const it of items) {
    await t.step(it.name, async () => {
      const info: string[] = [];
      const r = await verifyStream(bytesSource(it.bytes), {
        format: it.format,
        info: (l) => info.push(l),
      });
      assert.equal(r.exitCode, it.expect.exitCode, r.error?.message);
      if (it.expect.message) {
        assert.ok(r.error?.message.includes(it.expect.message), r.error?.message);
      }
      if (it.expect.offset !== undefined) {
        assert.ok(r.error instanceof StreamError);
        assert.equal(r.error.offset, it.expect.offset, r.error.describe());
      }
      for (const l of it.expect.lines ?? []) assert.ok(info.includes(l), `missing -v line '${l}'`);
    });
  }
});
