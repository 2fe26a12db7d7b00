/**
 * The real streams Xen 4.17 wrote (`tests/fixtures/real-xen/*.gz`), unpacked
 * once into `.cache/real-xen/` with `DecompressionStream` and checked against
 * `SHA256SUMS` before use, so several test files can read them without
 * unpacking 450 MB each time.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { ROOT } from "./processes.ts";

/** The real fixtures: name, and the format to verify them as. */
export const REAL_FIXTURES = ["pv96.save", "pvh128.save", "pvh128.mig"] as const;

/** One real fixture's name. */
export type RealFixture = typeof REAL_FIXTURES[number];

/** Directory of the compressed fixtures and their reference outputs. */
export const FIXTURE_DIR = `${ROOT}tests/fixtures/real-xen`;
const CACHE_DIR = `${ROOT}.cache/real-xen`;

async function expectedSums(): Promise<Map<string, string>> {
  const text = await Deno.readTextFile(`${FIXTURE_DIR}/SHA256SUMS`);
  return new Map(
    text.trim().split("\n").map((l) => {
      const [sum, name] = l.trim().split(/\s+/);
      return [name, sum] as const;
    }),
  );
}

const pending = new Map<string, Promise<string>>();

/** The path of the unpacked fixture `name`, unpacking (and checking) it first if needed. */
export function realFixture(name: RealFixture): Promise<string> {
  let p = pending.get(name);
  if (!p) {
    p = unpack(name);
    pending.set(name, p);
  }
  return p;
}

async function unpack(name: RealFixture): Promise<string> {
  const path = `${CACHE_DIR}/${name}`;
  if (existsSync(path)) return path;
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  const hash = createHash("sha256");
  const input = await Deno.open(`${FIXTURE_DIR}/${name}.gz`);
  const output = await Deno.open(tmp, { write: true, create: true, truncate: true });
  const writer = output.writable.getWriter();
  for await (const chunk of input.readable.pipeThrough(new DecompressionStream("gzip"))) {
    hash.update(chunk);
    await writer.write(chunk);
  }
  await writer.close();
  const sum = hash.digest("hex");
  const want = (await expectedSums()).get(name);
  if (sum !== want) {
    await Deno.remove(tmp);
    throw new Error(`${name}: sha256 ${sum} does not match SHA256SUMS (${want})`);
  }
  await Deno.rename(tmp, path);
  return path;
}

/** Xen's `verify-stream-v2 -v -f xl` output for `name`, as recorded beside it. */
export function referenceOutput(name: RealFixture): Promise<string> {
  return Deno.readTextFile(`${FIXTURE_DIR}/${name}.verify.txt`);
}
