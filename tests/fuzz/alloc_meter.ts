/**
 * Measures the allocations code makes, so the fuzzer can prove that no
 * reader sizes a buffer from a length field before the bytes exist.
 *
 * {@linkcode installAllocationMeter} replaces the global typed-array,
 * `ArrayBuffer` and `Array` constructors with proxies that record the size
 * of every allocation made with a length (`new Uint8Array(n)`,
 * `new ArrayBuffer(n)`, `Float64Array.from(list)`, `slice()` through the
 * species constructor, `new Array(n)`) before making it.  Install it first,
 * then import the code under test — module code looks its constructors up
 * on the global object, so `new Uint8Array(claimedLength)` anywhere in the
 * readers goes through the meter.
 *
 * Allocations bigger than the meter's hard cap are refused outright (a
 * `RangeError` the fuzzer reports as a failure), so a 4 GiB claim fails the
 * input instead of the process.
 *
 * @module
 */

/** What was allocated since the last {@linkcode AllocationMeter.reset}. */
export interface AllocationStats {
  /** The largest single allocation, in bytes. */
  largest: number;
  /** The sum of all allocations, in bytes. */
  total: number;
  /** What the largest one was, e.g. `"Uint8Array(1048576)"`. */
  largestWhat: string;
}

/** The meter's controls. */
export interface AllocationMeter {
  /** Starts a new measurement window. */
  reset(): void;
  /** The window's numbers so far. */
  stats(): AllocationStats;
  /** Restores the original constructors. */
  uninstall(): void;
}

/** Allocations above this many bytes are refused (default 1 GiB). */
export const DEFAULT_HARD_CAP = 1024 * 1024 * 1024;

const TYPED = [
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;

/** Thrown when an allocation exceeds the hard cap. */
export class AllocationRefused extends RangeError {
  /** Creates the error for an allocation of `bytes` bytes. */
  constructor(what: string, bytes: number) {
    super(`allocation meter: refused ${what} of ${bytes} bytes (over the hard cap)`);
    this.name = "AllocationRefused";
  }
}

/**
 * Installs the meter on `globalThis`.  One meter per realm (worker); calling
 * it twice returns the installed one.
 *
 * @example
 * ```ts
 * import { installAllocationMeter } from "./alloc_meter.ts";
 * const meter = installAllocationMeter();
 * meter.reset();
 * new Uint8Array(1000);
 * new Float64Array(10);
 * const s = meter.stats();
 * console.assert(s.largest === 1000 && s.total === 1080);
 * meter.uninstall();
 * ```
 */
export function installAllocationMeter(hardCap = DEFAULT_HARD_CAP): AllocationMeter {
  const g = globalThis as unknown as Record<string, unknown> & {
    __allocationMeter?: AllocationMeter;
  };
  if (g.__allocationMeter) return g.__allocationMeter;
  let largest = 0, total = 0, largestWhat = "";
  const note = (what: string, bytes: number) => {
    if (!(bytes > 0)) return;
    if (bytes > hardCap) throw new AllocationRefused(what, bytes);
    total += bytes;
    if (bytes > largest) {
      largest = bytes;
      largestWhat = `${what}(${bytes})`;
    }
  };
  const restore: (() => void)[] = [];

  const wrap = (name: string, size: (args: unknown[]) => number) => {
    const original = g[name] as new (...args: unknown[]) => object;
    const proxy: typeof original = new Proxy(original, {
      construct(target, args, newTarget): object {
        note(name, size(args));
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
      },
    });
    g[name] = proxy;
    const proto = (original as unknown as { prototype: { constructor: unknown } }).prototype;
    // Species-created arrays (slice, map, filter) find their constructor here.
    Object.defineProperty(proto, "constructor", {
      value: proxy,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    restore.push(() => {
      g[name] = original;
      Object.defineProperty(proto, "constructor", {
        value: original,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    });
  };

  for (const name of TYPED) {
    const per = (globalThis as unknown as Record<string, { BYTES_PER_ELEMENT: number }>)[name]
      .BYTES_PER_ELEMENT;
    wrap(name, ([a]) => {
      if (typeof a === "number") return a * per;
      // From an array-like or iterable: its length is the element count.
      if (
        a !== null && typeof a === "object" && !(a instanceof ArrayBuffer) &&
        !(typeof SharedArrayBuffer !== "undefined" && a instanceof SharedArrayBuffer)
      ) {
        const n = (a as { length?: unknown }).length;
        return typeof n === "number" ? n * per : 0;
      }
      return 0;
    });
  }
  wrap("ArrayBuffer", ([n]) => (typeof n === "number" ? n : 0));
  wrap("Array", (args) => (args.length === 1 && typeof args[0] === "number" ? args[0] * 8 : 0));

  const meter: AllocationMeter = {
    reset() {
      largest = 0;
      total = 0;
      largestWhat = "";
    },
    stats: () => ({ largest, total, largestWhat }),
    uninstall() {
      for (const fn of restore.reverse()) fn();
      delete g.__allocationMeter;
    },
  };
  g.__allocationMeter = meter;
  return meter;
}
