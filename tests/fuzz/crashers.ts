/**
 * Crashers: inputs that made a target fail, saved under
 * `tests/fuzz/crashers/` as `<target>-<sha256 prefix>.bin` (the bytes) and
 * `.json` (how to replay it and what it did), so every test run replays
 * them (`crashers_test.ts`).  Files are written atomically.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import type { FuzzInput, LegacyOptions } from "./mutators.ts";
import type { V2Format } from "./stream_map.ts";

/** Directory of the committed crashers. */
export const CRASHERS_DIR: string = new URL("./crashers/", import.meta.url).pathname;

/** What a crasher's `.json` records. */
export interface CrasherMeta {
  /** Target it failed. */
  target: string;
  /** How it failed then. */
  kind: string;
  /** The failure message then (first line). */
  message: string;
  /** Campaign seed and input index it came from (-1 when hand-made). */
  seed: number;
  /** Input index. */
  index: number;
  /** Format to read it as. */
  format?: V2Format | "legacy";
  /** The variant word (chunking, options). */
  variant?: number;
  /** Legacy options. */
  legacy?: LegacyOptions;
  /** Fix note, added by hand once fixed. */
  fixed?: string;
}

async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Saves `input` as a crasher of `meta.target`; returns the `.bin` path. */
export async function saveCrasher(
  dir: string,
  meta: Omit<CrasherMeta, "format" | "variant" | "legacy">,
  input: FuzzInput,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const hash = createHash("sha256").update(input.bytes).digest("hex").slice(0, 12);
  const base = join(dir, `${meta.target}-${hash}`);
  const full: CrasherMeta = {
    ...meta,
    message: meta.message.split("\n")[0],
    format: input.format,
    variant: input.variant,
    legacy: input.legacy,
  };
  await writeAtomic(`${base}.bin`, input.bytes);
  await writeAtomic(`${base}.json`, new TextEncoder().encode(JSON.stringify(full, null, 2) + "\n"));
  return `${base}.bin`;
}

/** A saved crasher. */
export interface Crasher {
  /** Path of the `.bin`. */
  path: string;
  /** Its metadata. */
  meta: CrasherMeta;
  /** The input to replay. */
  input: FuzzInput;
}

/** Every crasher in `dir`. */
export async function loadCrashers(dir: string = CRASHERS_DIR): Promise<Crasher[]> {
  const out: Crasher[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return out;
  }
  for (
    const e of entries.filter((e) => e.name.endsWith(".json")).sort((a, b) =>
      a.name.localeCompare(b.name)
    )
  ) {
    const json = join(dir, e.name);
    const path = json.replace(/\.json$/, ".bin");
    const meta = JSON.parse(await Deno.readTextFile(json)) as CrasherMeta;
    const bytes = await Deno.readFile(path);
    out.push({
      path,
      meta,
      input: {
        bytes,
        format: meta.format ?? "libxc",
        seed: `crasher:${e.name}`,
        ops: [],
        variant: meta.variant ?? 0,
        legacy: meta.legacy,
      },
    });
  }
  return out;
}
