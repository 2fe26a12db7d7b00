/**
 * What the fuzzer feeds: one entry per reader.  A target runs one input and
 * either resolves (the input was accepted), throws one of the typed errors
 * its reader documents (the input was rejected, with a message and a byte
 * offset), or throws {@linkcode InvariantFailure} / anything else — a bug.
 *
 * | target | reader |
 * |---|---|
 * | `parse` | `StreamParser` + every decoder (records, PAGE_DATA, HVM context, xenstore, xl config); whole and chunked reads must agree |
 * | `verify` | `verifyStream` (Xen's checks) — exit 2 is a bug |
 * | `verify-strict` | `verifyStream` with `strict` and `summary` |
 * | `legacy` | `convertLegacyStream`; what it converts is verified too (exit 2 is a bug; exit 1 is not: Xen passes some invalid content through) |
 * | `restore` | `restoreStream` into a simulated domain: no leaked domain, mapping, buffer or xenstore node, no out-of-range or hole access |
 *
 * Import this module only after `installAllocationMeter()` (see
 * `worker.ts`), so the readers' allocations are measured.
 *
 * @module
 */

import { RestoreError, restoreStream } from "../../lib/engine/restore.ts";
import { StreamError } from "../../lib/errors.ts";
import { type ByteSink, memorySink } from "../../lib/io/byte_sink.ts";
import { type ByteSource, bytesSource } from "../../lib/io/byte_source.ts";
import { REC_TYPE } from "../../lib/libxc/constants.ts";
import { decodeHvmContext } from "../../lib/libxc/hvm_context.ts";
import { decodeLibxcRecord } from "../../lib/libxc/records.ts";
import { decodeLibxlRecord } from "../../lib/libxl/records.ts";
import { StreamParser } from "../../lib/stream_parser.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { decodeXlConfigData } from "../../lib/xl/header.ts";
import { Domain } from "../../lib/xen/domain.ts";
import { XenError } from "../../lib/xen/errors.ts";
import { type HypervisorSession, openHypervisor } from "../../lib/xen/open.ts";
import type { FuzzInput, Seed } from "./mutators.ts";
import { Rng } from "./rng.ts";
import type { V2Format } from "./stream_map.ts";

/** A broken invariant other than an untyped exception (e.g. exit code 2, a leak). */
export class InvariantFailure extends Error {
  /** Creates the failure. */
  constructor(message: string) {
    super(message);
    this.name = "InvariantFailure";
  }
}

/** One fuzz target. */
export interface FuzzTarget {
  /** Name on the command line and in reports. */
  readonly name: string;
  /** Which seeds it takes: v2 streams or legacy images. */
  readonly family: "v2" | "legacy";
  /** Prepares (e.g. opens the simulator); returns the seeds it can use. */
  setup(seeds: readonly Seed[]): Promise<Seed[]>;
  /** Runs one input: resolves, throws a typed error, or fails. */
  run(input: FuzzInput): Promise<void>;
  /** Whether `e` is an error this target's reader is allowed to reject input with. */
  isTyped(e: unknown): boolean;
  /** After each input: a message if it left something behind (leaks, stray access). */
  check?(): string | undefined;
  /** Releases what `setup` acquired. */
  close?(): void;
}

/** A source that hands `bytes` out in pieces of varying size. */
export function chunkedSource(bytes: Uint8Array, rng: Rng): ByteSource {
  let pos = 0;
  const small = rng.chance(0.125);
  return {
    read(into) {
      if (pos >= bytes.length) return Promise.resolve(null);
      const want = small ? rng.range(1, 64) : rng.range(1, 16384);
      const n = Math.min(into.length, bytes.length - pos, want);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

const isStreamError = (e: unknown) => e instanceof StreamError;

/** The v2 format to read an input as: usually its seed's. */
function formatOf(input: FuzzInput): V2Format {
  return input.format === "legacy" ? "libxc" : input.format;
}

/** Parses and decodes everything; returns a signature of what it saw. */
async function parseAll(source: ByteSource, format: V2Format): Promise<string> {
  let events = 0;
  let last = "";
  try {
    for await (const ev of new StreamParser(source, { format }).events()) {
      events++;
      last = `${ev.kind}@${ev.offset}`;
      if (ev.kind === "xl-header") decodeXlConfigData(ev.optionalData);
      if (ev.kind !== "record") continue;
      if (ev.layer === "libxl") {
        decodeLibxlRecord(ev.type, ev.body, ev.offset);
        continue;
      }
      const rec = decodeLibxcRecord(ev.type, ev.body, ev.offset);
      if (rec.type === REC_TYPE.HVM_CONTEXT && "data" in rec) decodeHvmContext(rec.data, ev.offset);
    }
  } catch (e) {
    if (e instanceof StreamError) {
      (e as StreamError & { signature?: string }).signature =
        `${events} ${last} ${e.name}: ${e.message} @${e.offset}`;
    }
    throw e;
  }
  return `${events} ${last} ok`;
}

function signatureOf(e: unknown): string {
  return (e as { signature?: string }).signature ?? `untyped ${String(e)}`;
}

/** `StreamParser` and the decoders; whole and chunked reads must give the same outcome. */
export const parseTarget: FuzzTarget = {
  name: "parse",
  family: "v2",
  setup: (seeds) => Promise.resolve([...seeds]),
  async run(input) {
    const format = formatOf(input);
    let whole: string;
    try {
      whole = await parseAll(bytesSource(input.bytes), format);
    } catch (e) {
      if (!(e instanceof StreamError)) throw e;
      whole = signatureOf(e);
      const chunked = await parseAll(
        chunkedSource(input.bytes, Rng.forInput(input.variant, 1)),
        format,
      )
        .catch(signatureOf);
      if (chunked !== whole) {
        throw new InvariantFailure(`chunked read differs: whole "${whole}", chunked "${chunked}"`);
      }
      throw e;
    }
    const chunked = await parseAll(
      chunkedSource(input.bytes, Rng.forInput(input.variant, 1)),
      format,
    )
      .catch(signatureOf);
    if (chunked !== whole) {
      throw new InvariantFailure(`chunked read differs: whole "${whole}", chunked "${chunked}"`);
    }
  },
  isTyped: isStreamError,
};

function verifyTarget(name: string, strict: boolean): FuzzTarget {
  return {
    name,
    family: "v2",
    setup: (seeds) => Promise.resolve([...seeds]),
    async run(input) {
      const r = await verifyStream(bytesSource(input.bytes), {
        format: formatOf(input),
        strict,
        summary: strict,
      });
      if (r.exitCode === 2) {
        throw new InvariantFailure(`exit code 2 (internal error): ${r.error?.stack ?? r.error}`);
      }
      if (r.exitCode === 1) {
        if (!(r.error instanceof StreamError)) {
          throw new InvariantFailure(`exit code 1 without a StreamError: ${r.error}`);
        }
        throw r.error;
      }
    },
    isTyped: isStreamError,
  };
}

/** `verifyStream` as `verify-stream-v2` runs it. */
export const verifyTargetNormal: FuzzTarget = verifyTarget("verify", false);
/** `verifyStream --strict --json`. */
export const verifyTargetStrict: FuzzTarget = verifyTarget("verify-strict", true);

/** The shape of `convertLegacyStream` this target uses. */
type ConvertLegacy = (
  source: ByteSource,
  sink: ByteSink,
  options: {
    format: "libxc" | "libxl";
    width?: 32 | 64;
    guestType?: "pv" | "hvm";
    xl?: boolean;
    skipQemu?: boolean;
  },
) => Promise<unknown>;

/**
 * The legacy converter.  Loaded by URL, so this module type-checks whatever
 * state the converter (another engineer's, in progress) is in.
 */
export function legacyTarget(): FuzzTarget {
  let convert: ConvertLegacy;
  let Unsupported: new (...a: never[]) => Error;
  return {
    name: "legacy",
    family: "legacy",
    async setup(seeds) {
      const url = new URL("../../lib/legacy/", import.meta.url).href;
      convert = (await import(`${url}convert.ts`)).convertLegacyStream;
      Unsupported = (await import(`${url}errors.ts`)).LegacyUnsupportedError;
      return seeds.filter((s) => s.bytes.length <= 512 * 1024);
    },
    async run(input) {
      const v = input.variant;
      const format = v & 1 ? "libxl" : "libxc";
      const o = input.legacy ?? {};
      const sink = memorySink();
      await convert(bytesSource(input.bytes), sink, {
        format,
        width: v & 2 ? undefined : o.width,
        guestType: v & 4 ? undefined : o.guestType,
        xl: o.xl,
        skipQemu: o.skipQemu,
      });
      // What converted must be a stream our verifier can read: exit 2 is a bug.
      const r = await verifyStream(bytesSource(sink.bytes()), { format });
      if (r.exitCode === 2) {
        throw new InvariantFailure(
          `converted output: verifier exit 2: ${r.error?.stack ?? r.error}`,
        );
      }
    },
    isTyped: (e) => e instanceof StreamError || e instanceof Unsupported,
  };
}

/**
 * The simulator, watched: a session with one guest, and after each input a
 * check that no domain, foreign mapping or hypercall buffer was left
 * behind and that nothing touched a pfn out of a domain's range or one that
 * was never populated.
 */
export class WatchedSimulator {
  /** The session (after {@linkcode WatchedSimulator.open}). */
  session!: HypervisorSession;
  #baseline = new Set<number>();
  #outOfRangeSeen = 0;
  #outOfRange = 0;
  #holeAccess = 0;
  #xenstoreNodes = 0;
  #originalDestroy = Domain.prototype.destroy;

  /** Opens the simulator and starts watching. */
  async open(): Promise<void> {
    this.session = await openHypervisor({ sim: "mem=64M" });
    this.#baseline = new Set(this.session.hv.domains().map((d) => d.domid));
    const g = this.session.sim!.globalStats();
    this.#outOfRangeSeen = g.outOfRangeTotal;
    this.#xenstoreNodes = g.xenstoreNodes;
    // Every destroy (a restore's own, on failure, and ours) first reads the
    // domain's hole-access counter, which dies with it.
    const tally = (domid: number) => this.#tally(domid);
    const original = this.#originalDestroy;
    Domain.prototype.destroy = function (this: Domain) {
      tally(this.domid);
      return original.call(this);
    };
  }

  #tally(domid: number): void {
    try {
      const s = this.session.sim!.stats(domid);
      this.#outOfRange += s.outOfRange;
      this.#holeAccess += s.holeAccess;
    } catch {
      // Already gone.
    }
  }

  /** What the last input left behind, or undefined; cleans it up. */
  check(): string | undefined {
    const problems: string[] = [];
    const hv = this.session.hv;
    const live = hv.domains().map((d) => d.domid).filter((id) => !this.#baseline.has(id));
    for (const domid of live) {
      problems.push(`domain ${domid} left behind`);
      hv.domain(domid).destroy();
    }
    const g = this.session.sim!.globalStats();
    if (g.mappingsLive) problems.push(`${g.mappingsLive} foreign mappings left mapped`);
    if (g.hypercallBuffersLive) problems.push(`${g.hypercallBuffersLive} hypercall buffers live`);
    if (g.hypercallBufferBadFrees) problems.push(`${g.hypercallBufferBadFrees} bad buffer frees`);
    // The process-wide counter also sees domains destroyed since the last check.
    const outOfRange = Math.max(g.outOfRangeTotal - this.#outOfRangeSeen, this.#outOfRange);
    this.#outOfRangeSeen = g.outOfRangeTotal;
    if (outOfRange) problems.push(`${outOfRange} out-of-range accesses`);
    if (this.#holeAccess) problems.push(`${this.#holeAccess} accesses to unpopulated pfns`);
    // A failed restore's xenstore entries go with its domain.
    if (g.xenstoreNodes !== this.#xenstoreNodes) {
      problems.push(`${g.xenstoreNodes - this.#xenstoreNodes} xenstore nodes left behind`);
      this.#xenstoreNodes = g.xenstoreNodes;
    }
    if (g.xenstoreTransactionsOpen) {
      problems.push(`${g.xenstoreTransactionsOpen} xenstore transactions left open`);
    }
    this.#outOfRange = this.#holeAccess = 0;
    return problems.length ? problems.join("; ") : undefined;
  }

  /** Stops watching and closes the session. */
  close(): void {
    Domain.prototype.destroy = this.#originalDestroy;
    this.session?.close();
  }
}

/**
 * Whether a hypervisor failure is at the root of `e`: a RestoreError
 * wraps the XenError, possibly through an explanatory error (e.g. "the
 * stream's HVM context has 2 vcpus but the domain was created with 1").
 * An FFI TypeError at the root is a bug: the stream's values reached the
 * hypervisor call unchecked.
 */
function causedByXen(e: Error): boolean {
  for (let c: unknown = e.cause, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof XenError) return true;
  }
  return false;
}

/** `restoreStream` into the simulator. */
export function restoreTarget(): FuzzTarget {
  const sim = new WatchedSimulator();
  const target: FuzzTarget = {
    name: "restore",
    family: "v2",
    async setup(seeds) {
      await sim.open();
      const usable: Seed[] = [];
      for (const s of seeds) {
        try {
          await target.run({ bytes: s.bytes, format: s.format, seed: s.name, ops: [], variant: 0 });
          usable.push(s);
        } catch {
          // PV and checkpointed streams are refused by design: not seeds for restore.
        }
        sim.check();
      }
      return usable;
    },
    async run(input) {
      const hv = sim.session.hv;
      const r = await restoreStream(hv, bytesSource(input.bytes), {
        format: input.variant & 1 ? formatOf(input) : undefined,
      });
      r.reader.close();
      hv.domain(r.domid).destroy();
    },
    isTyped: (e) => e instanceof StreamError || (e instanceof RestoreError && causedByXen(e)),
    check: () => sim.check(),
    close: () => sim.close(),
  };
  return target;
}

/** The target called `name`. */
export function targetByName(name: string): FuzzTarget {
  switch (name) {
    case "parse":
      return parseTarget;
    case "verify":
      return verifyTargetNormal;
    case "verify-strict":
      return verifyTargetStrict;
    case "legacy":
      return legacyTarget();
    case "restore":
      return restoreTarget();
  }
  throw new RangeError(`unknown fuzz target '${name}'`);
}

/** Every target, in report order. */
export const TARGET_NAMES = ["parse", "verify", "verify-strict", "legacy", "restore"] as const;
