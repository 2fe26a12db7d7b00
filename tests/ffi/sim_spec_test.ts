/** The sim spec syntax. */

import { deepStrictEqual, throws } from "node:assert/strict";
import { parseSimSpec } from "../../lib/xen/sim_spec.ts";

Deno.test("sim spec: full syntax", () => {
  deepStrictEqual(parseSimSpec("mem=1G,vcpus=2,rate=50000,pattern=hot:5%"), {
    memBytes: 2 ** 30,
    vcpus: 2,
    rate: 50000,
    pattern: { kind: "hot", fraction: 0.05 },
  });
  deepStrictEqual(parseSimSpec("mem=65536K,pattern=scan,domid=9").memBytes, 64 * 2 ** 20);
  deepStrictEqual(parseSimSpec("mem=8G").memBytes, 8 * 2 ** 30);
  deepStrictEqual(parseSimSpec("pattern=bursty").pattern, {
    kind: "bursty",
    onMs: 100,
    offMs: 400,
  });
  deepStrictEqual(parseSimSpec("pattern=bursty:20/80").pattern, {
    kind: "bursty",
    onMs: 20,
    offMs: 80,
  });
  deepStrictEqual(parseSimSpec(""), {
    memBytes: 256 * 2 ** 20,
    vcpus: 1,
    rate: 0,
    pattern: { kind: "uniform" },
  });
});

Deno.test("sim spec: errors quote the spec and name the limit", () => {
  throws(() => parseSimSpec("mem=32M"), /"mem=32M": mem=32M is not in 64M\.\.8G/);
  throws(() => parseSimSpec("mem=9G"), RangeError);
  throws(() => parseSimSpec("mem=1T"), SyntaxError);
  throws(() => parseSimSpec("vcpus=0"), /vcpus=0 is not in 1\.\.128/);
  throws(() => parseSimSpec("rate=-5"), SyntaxError);
  throws(() => parseSimSpec("pattern=hot:0%"), RangeError);
  throws(() => parseSimSpec("pattern=zigzag"), /not uniform, hot:N%, scan or bursty/);
  throws(() => parseSimSpec("colour=blue"), /unknown key colour/);
  throws(() => parseSimSpec("mem=64M,mem=128M"), /given twice/);
  throws(() => parseSimSpec("domid=0"), RangeError);
});
