/**
 * Deliberately broken targets, for the harness's own tests: each commits
 * one of the faults the fuzzer exists to catch, on some inputs, so
 * `harness_test.ts` can prove the fault is reported (the fuzz tests can
 * fail).  Never used on real readers.
 *
 * @module
 */

import { StreamError } from "../../../lib/errors.ts";
import { bytesSource } from "../../../lib/io/byte_source.ts";
import { StreamParser } from "../../../lib/stream_parser.ts";
import { XEN_DOMCTL_CDF_hap, XEN_DOMCTL_CDF_hvm } from "../../../lib/xen/constants.ts";
import type { FuzzTarget } from "../targets.ts";
import { parseTarget, WatchedSimulator } from "../targets.ts";

const v2 = (name: string, run: FuzzTarget["run"]): FuzzTarget => ({
  name,
  family: "v2",
  setup: (seeds) => Promise.resolve([...seeds]),
  run,
  isTyped: (e) => e instanceof StreamError,
});

/** Sizes a buffer from each record header's length field, before the body is read. */
const allocClaimed = v2("alloc-claimed", async (input) => {
  const format = input.format === "legacy" ? "libxc" : input.format;
  for await (const ev of new StreamParser(bytesSource(input.bytes), { format }).events()) {
    if (ev.kind === "record-header") new Uint8Array(ev.length); // the bug
  }
});

/** A TypeError (not a typed stream error) on inputs whose 100th byte is odd. */
const typeError = v2("type-error", (input) => {
  if ((input.bytes[100] ?? 0) & 1) {
    (undefined as unknown as { x: number }).x;
  }
  return Promise.resolve();
});

/** Loops forever on some inputs. */
const hang = v2("hang", (input) => {
  if (input.bytes.length % 97 === 5) { for (;;) { /* hang */ } }
  return Promise.resolve();
});

/** Dies like a native crash (SIGSEGV) on some inputs. */
const nativeCrash = v2("native-crash", (input) => {
  if (input.bytes.length % 89 === 7) Deno.kill(Deno.pid, "SIGSEGV");
  return Promise.resolve();
});

/** Rejects inputs with an offset past their end. */
const badOffset = v2("bad-offset", (input) => {
  if (input.bytes.length % 3 === 0) {
    return Promise.reject(new StreamError("bad", input.bytes.length + 100));
  }
  return Promise.resolve();
});

/** Leaves a domain behind on some inputs, and touches a pfn out of range on others. */
function simFaults(): FuzzTarget {
  const sim = new WatchedSimulator();
  return {
    name: "sim-faults",
    family: "v2",
    async setup(seeds) {
      await sim.open();
      return [...seeds];
    },
    run(input) {
      const hv = sim.session.hv;
      const d = hv.createDomain({ maxVcpus: 1, flags: XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap });
      if (input.bytes.length % 5 === 1) return Promise.resolve(); // leaked
      try {
        if (input.bytes.length % 5 === 2) d.populatePhysmap([2 ** 40]);
      } catch {
        // The simulator refuses it, but counts the attempt.
      }
      d.destroy();
      return Promise.resolve();
    },
    isTyped: (e) => e instanceof StreamError,
    check: () => sim.check(),
    close: () => sim.close(),
  };
}

/** The target called `name`. */
export function targetByName(name: string): FuzzTarget {
  switch (name) {
    case "alloc-claimed":
      return allocClaimed;
    case "type-error":
      return typeError;
    case "hang":
      return hang;
    case "bad-offset":
      return badOffset;
    case "native-crash":
      return nativeCrash;
    case "sim-faults":
      return simFaults();
    case "clean":
      return parseTarget;
  }
  throw new RangeError(`unknown faulty target '${name}'`);
}
