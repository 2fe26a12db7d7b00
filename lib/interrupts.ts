/**
 * One place that handles SIGINT and SIGTERM for the whole process: every
 * registered cleanup runs (newest first: a guest is resumed before its
 * half-written output is removed), then the process exits with 130 / 143.
 * Until something registers, the signals keep their default effect.
 *
 * @module
 */

type Cleanup = () => void | Promise<void>;

const cleanups: Cleanup[] = [];
let installed = false;
let running = false;

async function onSignal(code: number): Promise<void> {
  if (running) return;
  running = true;
  for (const fn of [...cleanups].reverse()) {
    try {
      await fn();
    } catch {
      // Keep cleaning up the rest.
    }
  }
  Deno.exit(code);
}

function install(): void {
  if (installed) return;
  installed = true;
  try {
    Deno.addSignalListener("SIGINT", () => void onSignal(130));
    Deno.addSignalListener("SIGTERM", () => void onSignal(143));
  } catch {
    // No signals here (e.g. a worker); callers still clean up on errors.
  }
  // An exit with work still registered (an uncaught error) runs the
  // synchronous part of each cleanup too.
  globalThis.addEventListener("unload", () => {
    if (running) return;
    running = true;
    for (const fn of [...cleanups].reverse()) {
      try {
        void fn();
      } catch {
        // Keep cleaning up the rest.
      }
    }
  });
}

/**
 * Registers `fn` to run if the process is interrupted; returns a function
 * that unregisters it (call it once the work is done).
 *
 * @example
 * ```ts
 * import { onInterrupt } from "./interrupts.ts";
 * const done = onInterrupt(() => console.log("resuming the guest"));
 * // ... work ...
 * done();
 * ```
 */
export function onInterrupt(fn: Cleanup): () => void {
  install();
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}
