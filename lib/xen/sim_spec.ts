/**
 * The simulator's spec string, e.g. `mem=1G,vcpus=2,rate=50000,pattern=hot:5%`.
 *
 * | key       | value                                             | default   |
 * |-----------|---------------------------------------------------|-----------|
 * | `mem`     | guest RAM, `<n>K`, `<n>M` or `<n>G`, 64M..8G       | `256M`    |
 * | `vcpus`   | 1..128 (writer threads: one per vcpu, at most 4)  | `1`       |
 * | `rate`    | pages dirtied per second, whole domain, >= 0      | `0`       |
 * | `pattern` | `uniform`, `hot:N%`, `scan`, `bursty[:ON/OFF]` ms | `uniform` |
 * | `domid`   | requested domid, 1..1023                          | any free  |
 *
 * `hot:N%` sends 90% of writes to N% of RAM; `bursty:100/400` writes at
 * `rate` for 100 ms, then idles 400 ms (the default phases).
 *
 * @module
 */

/** How the simulated guest chooses pages to write. */
export type WorkloadPattern =
  | { kind: "uniform" }
  | { kind: "hot"; fraction: number }
  | { kind: "scan" }
  | { kind: "bursty"; onMs: number; offMs: number };

/** A parsed spec. */
export interface SimSpec {
  /** Guest RAM in bytes. */
  memBytes: number;
  /** Vcpus. */
  vcpus: number;
  /** Pages dirtied per second. */
  rate: number;
  /** Write pattern. */
  pattern: WorkloadPattern;
  /** Requested domid, if any. */
  domid?: number;
}

/** Smallest and largest simulated guest (bytes). */
export const SIM_MEM_LIMITS = { min: 64 * 2 ** 20, max: 8 * 2 ** 30 } as const;

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };

function integer(spec: string, key: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) {
    throw new SyntaxError(`sim spec "${spec}": ${key}=${text} is not a whole number`);
  }
  const n = Number(text);
  if (n < min || n > max) {
    throw new RangeError(`sim spec "${spec}": ${key}=${n} is not in ${min}..${max}`);
  }
  return n;
}

function parsePattern(spec: string, text: string): WorkloadPattern {
  if (text === "uniform" || text === "scan") return { kind: text };
  const hot = /^hot:(\d+(?:\.\d+)?)%$/.exec(text);
  if (hot) {
    const pct = Number(hot[1]);
    if (pct <= 0 || pct > 100) {
      throw new RangeError(`sim spec "${spec}": hot set ${pct}% is not in (0, 100]`);
    }
    return { kind: "hot", fraction: pct / 100 };
  }
  const bursty = /^bursty(?::(\d+)\/(\d+))?$/.exec(text);
  if (bursty) {
    const onMs = bursty[1] === undefined ? 100 : Number(bursty[1]);
    const offMs = bursty[2] === undefined ? 400 : Number(bursty[2]);
    if (onMs === 0) throw new RangeError(`sim spec "${spec}": bursty on-phase must be > 0 ms`);
    return { kind: "bursty", onMs, offMs };
  }
  throw new SyntaxError(
    `sim spec "${spec}": pattern=${text} is not uniform, hot:N%, scan or bursty[:ON_MS/OFF_MS]`,
  );
}

/**
 * Parses a spec string; errors quote the spec and name the limit hit.
 *
 * @example
 * ```ts
 * import { parseSimSpec } from "./sim_spec.ts";
 * const s = parseSimSpec("mem=1G,vcpus=2,rate=50000,pattern=hot:5%");
 * console.log(s.memBytes, s.vcpus, s.rate, s.pattern); // 1073741824 2 50000 { kind: "hot", fraction: 0.05 }
 * ```
 */
export function parseSimSpec(spec: string): SimSpec {
  const out: SimSpec = { memBytes: 256 * 2 ** 20, vcpus: 1, rate: 0, pattern: { kind: "uniform" } };
  const seen = new Set<string>();
  for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new SyntaxError(`sim spec "${spec}": "${part}" is not key=value`);
    const key = part.slice(0, eq), value = part.slice(eq + 1);
    if (seen.has(key)) throw new SyntaxError(`sim spec "${spec}": ${key} given twice`);
    seen.add(key);
    switch (key) {
      case "mem": {
        const m = /^(\d+)([KMG])$/i.exec(value);
        if (!m) throw new SyntaxError(`sim spec "${spec}": mem=${value} is not <n>K, <n>M or <n>G`);
        const bytes = Number(m[1]) * UNITS[m[2].toUpperCase()];
        if (bytes < SIM_MEM_LIMITS.min || bytes > SIM_MEM_LIMITS.max) {
          throw new RangeError(`sim spec "${spec}": mem=${value} is not in 64M..8G`);
        }
        if (bytes % 4096) {
          throw new RangeError(`sim spec "${spec}": mem=${value} is not whole 4 KiB pages`);
        }
        out.memBytes = bytes;
        break;
      }
      case "vcpus":
        out.vcpus = integer(spec, key, value, 1, 128);
        break;
      case "rate":
        out.rate = integer(spec, key, value, 0, 100_000_000);
        break;
      case "pattern":
        out.pattern = parsePattern(spec, value);
        break;
      case "domid":
        out.domid = integer(spec, key, value, 1, 1023);
        break;
      default:
        throw new SyntaxError(
          `sim spec "${spec}": unknown key ${key} (mem, vcpus, rate, pattern, domid)`,
        );
    }
  }
  return out;
}
