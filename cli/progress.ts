/**
 * A one-line progress bar for engine commands on a terminal: iteration,
 * pages sent of pages to send, throughput and the guest's dirty rate.
 *
 * @module
 */

import type { SaveProgress } from "../lib/engine/save_session.ts";
import { writeAllSync } from "./output.ts";

/** Returns a progress callback drawing on stderr, or undefined when stderr is not a TTY. */
export function progressBar(): ((p: SaveProgress) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  let last = 0;
  let lastBytes = 0;
  let lastT = performance.now();
  let rate = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 100 && p.phase !== "done") return;
    const dt = (now - lastT) / 1000;
    if (dt > 0.2) {
      rate = (p.totalBytes - lastBytes) / dt;
      lastBytes = p.totalBytes;
      lastT = now;
    }
    last = now;
    const frac = p.pagesToSend ? Math.min(1, p.pagesSent / p.pagesToSend) : 1;
    const width = 24;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const phase = p.phase === "precopy" ? `iter ${p.iteration}` : p.phase;
    const line = `\r${phase.padEnd(8)} [${bar}] ${p.pagesSent}/${p.pagesToSend} pages  ` +
      `${(rate / 2 ** 20).toFixed(0)} MiB/s  dirty ${p.dirtyCount}`;
    writeAllSync(Deno.stderr, line.padEnd(78) + (p.phase === "done" ? "\n" : ""));
  };
}
