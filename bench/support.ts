/**
 * Helpers for the benchmarks: run a command (or shell pipeline) and measure
 * its wall time and peak RSS (through python3's `resource`, available on
 * every machine the README targets), and format result tables.
 *
 * @module
 */

/** One measured run. */
export interface Run {
  /** Wall time in seconds. */
  seconds: number;
  /** Peak resident set size of the child processes, KiB. */
  maxRssKiB: number;
  /** Exit code. */
  code: number;
}

const RUNNER = `
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(["sh", "-c", sys.argv[1]]).returncode
dt = time.perf_counter() - t
print("%f %d %d" % (dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc), file=sys.stderr)
`;

/** Runs the shell command `cmd`; its own output is discarded. */
export async function measure(cmd: string, env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command("python3", {
    args: ["-c", RUNNER, cmd],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const last = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
  const [s, rss, code] = last.split(" ").map(Number);
  return { seconds: s, maxRssKiB: rss, code };
}

/** Best (fastest) of `n` runs, with the largest RSS seen. */
export async function best(n: number, cmd: string, env: Record<string, string> = {}): Promise<Run> {
  let result: Run | undefined;
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const r = await measure(cmd, env);
    rss = Math.max(rss, r.maxRssKiB);
    if (!result || r.seconds < result.seconds) result = r;
  }
  return { ...result!, maxRssKiB: rss };
}

/** Formats rows as an aligned text table (first row is the header). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
  ).join("\n");
}

/** Single-quotes `s` for sh. */
export function sh(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
