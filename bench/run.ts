/**
 * `deno task bench`: runs every benchmark script in `bench/` (files ending
 * in `_bench.ts`), one after another so they do not disturb each other.
 * Arguments select benchmarks by name substring.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";

const dir = fromFileUrl(new URL("./", import.meta.url));
const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith("_bench.ts"))
  .sort();
let failed = 0;
for (const name of names) {
  if (Deno.args.length && !Deno.args.some((a) => name.includes(a))) continue;
  console.log(`\n=== ${name} ===`);
  const status = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", `${dir}${name}`] })
    .spawn().status;
  if (!status.success) failed++;
}
Deno.exit(failed ? 1 : 0);
