/**
 * The seeds the fuzzer mutates: valid streams of every kind the project can
 * produce, kept small so a million inputs per target stay affordable.
 *
 * - **corpus**: the verification corpus's valid streams (every record type of
 *   every layer, PV and HVM, v2 and v3, checkpointed);
 * - **sim**: what the engine's {@linkcode SaveSession} writes for a simulated
 *   guest, in xl, libxl and libxc format, minified;
 * - **real**: streams written by real Xen 4.17 (`tests/fixtures/real-xen`),
 *   minified (all records but PAGE_DATA kept; a few pages of a few
 *   PAGE_DATA records);
 * - **legacy**: the legacy images of `tests/legacy/fixtures.ts` that Xen's
 *   converter accepts.
 *
 * Minified real streams are cached in `.cache/fuzz/` (building them means
 * decompressing ~450 MB).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SaveSession } from "../../lib/engine/save_session.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { type ByteSource, bytesSource, readableSource } from "../../lib/io/byte_source.ts";
import { REC_TYPE } from "../../lib/libxc/constants.ts";
import { decodePageData, encodePageData } from "../../lib/libxc/page_data.ts";
import { encodeRecord } from "../../lib/record_header.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import { encodeXlHeader } from "../../lib/xl/header.ts";
import { encodeImageHeader } from "../../lib/libxc/image_header.ts";
import { encodeDomainHeader } from "../../lib/libxc/domain_header.ts";
import { encodeLibxlHeader } from "../../lib/libxl/header.ts";
import { openHypervisor } from "../../lib/xen/open.ts";
import { corpus } from "../support/corpus/mod.ts";
import type { Seed } from "./mutators.ts";
import type { V2Format } from "./stream_map.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CACHE = `${ROOT}.cache/fuzz`;

/** How much of a big stream's memory a minified seed keeps. */
export interface MinifyOptions {
  /** PAGE_DATA records kept per libxc image (default 2). */
  pageRecords?: number;
  /** Pfn entries kept per PAGE_DATA record (default 2). */
  entries?: number;
}

/**
 * Re-encodes the stream read from `source` with every record except most
 * PAGE_DATA: the first `pageRecords` of each image, cut to `entries`
 * entries.  The result is still a valid stream (for the verifier) of the
 * same guest.
 *
 * @example
 * ```ts ignore
 * const small = await minifyStream(openFile("big.save"), "xl");
 * ```
 */
export async function minifyStream(
  source: ByteSource,
  format: V2Format,
  options: MinifyOptions = {},
): Promise<Uint8Array> {
  const keepRecords = options.pageRecords ?? 2;
  const keepEntries = options.entries ?? 2;
  const out: Uint8Array[] = [];
  let pageRecords = 0;
  for await (const ev of new StreamParser(source, { format }).events()) {
    switch (ev.kind) {
      case "xl-header":
        out.push(encodeXlHeader(ev.header, ev.optionalData));
        break;
      case "libxl-header":
        out.push(encodeLibxlHeader(ev.header));
        break;
      case "image-header":
        out.push(encodeImageHeader(ev.header));
        pageRecords = 0;
        break;
      case "domain-header":
        out.push(encodeDomainHeader(ev.header));
        break;
      case "record": {
        if (ev.layer === "libxc" && ev.type === REC_TYPE.PAGE_DATA) {
          if (++pageRecords > keepRecords) break;
          const pd = decodePageData(ev.body);
          const n = Math.min(keepEntries, pd.count);
          // Pages follow their entries' order: the first entries' pages come first.
          out.push(encodePageData(
            pd.pfns.subarray(0, n),
            pd.types.subarray(0, n),
            pd.pages.slice(0, countDataPages(pd.types.subarray(0, n)) * 4096),
            pd.pfnReserved.subarray(0, n),
          ));
          break;
        }
        out.push(encodeRecord(ev.type, ev.body.slice()));
        break;
      }
    }
  }
  return concatAll(out);
}

/** Pages with data among `types` (the page_data.ts rule, without importing a private helper). */
function countDataPages(types: Uint8Array): number {
  let n = 0;
  for (const t of types) if (!(t === 0x9 || t === 0xd || t === 0xe || t === 0xf)) n++;
  return n;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The corpus's valid v2 streams, minified (most of their bytes are pages,
 * which no reader interprets; small inputs make many more of them per
 * second).  One stream keeps all its pages, for the inputs that need many.
 */
export async function corpusSeeds(): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const item of corpus().filter((i) => i.expect.exitCode === 0)) {
    const name = `corpus:${item.name}`;
    if (item.name === "libxc-hvm-v3") {
      seeds.push({ name: `${name}:full`, format: item.format, bytes: item.bytes });
    }
    // A stream with bytes after its end keeps them: the parser stops at END.
    const end = item.name.includes("bytes-after-end") || item.name.includes("trailer")
      ? undefined
      : item.bytes;
    const bytes = end
      ? await minifyStream(bytesSource(end), item.format, { pageRecords: 3, entries: 3 })
      : item.bytes;
    seeds.push({ name, format: item.format, bytes });
  }
  return seeds;
}

/** Streams the engine saves from a simulated 64 MiB guest, minified, in every format. */
export async function simSeeds(): Promise<Seed[]> {
  using session = await openHypervisor({ sim: "mem=64M" });
  const seeds: Seed[] = [];
  for (const format of ["xl", "libxl", "libxc"] as const) {
    const out = memorySink();
    await new SaveSession(session.hv, session.domid!, out, { live: false, format }).run();
    const bytes = await minifyStream(bytesSource(out.bytes()), format, { pageRecords: 3 });
    seeds.push({ name: `sim:${format}`, format, bytes });
  }
  return seeds;
}

/** The real Xen 4.17 streams, minified (built once, then read from `.cache/fuzz`). */
export async function realSeeds(): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const name of ["pv96.save", "pvh128.save", "pvh128.mig"]) {
    const gz = `${ROOT}tests/fixtures/real-xen/${name}.gz`;
    if (!existsSync(gz)) continue;
    const cached = `${CACHE}/real-${name}.min`;
    let bytes: Uint8Array;
    if (existsSync(cached)) {
      bytes = await Deno.readFile(cached);
    } else {
      const file = await Deno.open(gz);
      bytes = await minifyStream(
        readableSource(file.readable.pipeThrough(new DecompressionStream("gzip"))),
        "xl",
      );
      await Deno.mkdir(CACHE, { recursive: true });
      const tmp = `${cached}.${Deno.pid}.tmp`;
      await Deno.writeFile(tmp, bytes);
      await Deno.rename(tmp, cached);
    }
    seeds.push({ name: `real:${name}`, format: "xl", bytes });
  }
  return seeds;
}

/** The part of a legacy fixture (`tests/legacy/fixtures.ts`) a seed needs. */
interface LegacyFixture {
  name: string;
  width: 32 | 64;
  guest: "pv" | "hvm";
  bytes: Uint8Array;
  flags?: string[];
  expect: { libxc: number; libxl: number };
}

/** The legacy images Xen's converter accepts, with the options they convert with. */
export async function legacySeeds(): Promise<Seed[]> {
  // Loaded by URL so the type check of this module does not depend on the
  // legacy fixtures (another engineer's, still in progress).
  const url = new URL("../legacy/fixtures.ts", import.meta.url).href;
  const { validFixtures } = await import(url) as { validFixtures(): LegacyFixture[] };
  return validFixtures()
    .filter((f) => f.expect.libxc === 0 || f.expect.libxl === 0)
    .map((f) => ({
      name: `legacy:${f.name}`,
      format: "legacy" as const,
      bytes: f.bytes,
      legacy: {
        width: f.width,
        guestType: f.guest,
        xl: f.flags?.includes("-x") ?? false,
        skipQemu: f.flags?.includes("--skip-qemu") ?? false,
      },
    }));
}

/** Every v2 seed: corpus, simulator, real Xen. */
export async function v2Seeds(): Promise<Seed[]> {
  return [...await corpusSeeds(), ...await simSeeds(), ...await realSeeds()];
}
