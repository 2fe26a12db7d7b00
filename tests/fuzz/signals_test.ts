/**
 * SIGINT and SIGTERM during a command that writes a file: the process
 * exits 130 / 143, no temporary (or partial target) file is left, and for
 * `save --live` / `migrate --to FILE` the source guest is restored —
 * unpaused, log-dirty off — which the command reports before exiting
 * ("domain N running, log-dirty off, guest writing": the simulator's
 * guest is seen writing again).  Each command runs as a subprocess in a
 * scratch directory; the signal is sent once its temporary file is
 * growing, i.e. mid-stream.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { CONVERT_SCRIPT, listDir, scratchDir, waitFor, XENMIG } from "./processes.ts";
import { legacySeeds } from "./seeds.ts";

const SIGNALS = [["SIGINT", 130], ["SIGTERM", 143]] as const;
/** How long a command may take to exit after the signal before it is killed (and fails). */
const EXIT_WAIT_MS = 20_000;

/** Size of the hidden temporary file in `dir`, or -1. */
function tempSize(dir: string): number {
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.startsWith(".") && e.name.endsWith(".tmp")) {
      try {
        return Deno.statSync(`${dir}/${e.name}`).size;
      } catch {
        return -1;
      }
    }
  }
  return -1;
}

/** Spawns `args` in `cwd`; sends `signal` once `ready()` holds; returns how it ended. */
async function interrupt(
  args: string[],
  cwd: string,
  signal: Deno.Signal,
  ready: () => boolean,
): Promise<{ code: number; stderr: string; wasReady: boolean; exitMs: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const wasReady = await waitFor(ready, 60_000);
  const sent = performance.now();
  try {
    child.kill(signal);
  } catch {
    // Already exited: the assertions below say how.
  }
  // Bounded: a command that ignores the signal (e.g. stuck in a blocking
  // call that keeps the event loop, and so the listener, from running)
  // fails the test instead of hanging it.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gone = await Promise.race([
    child.status.then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), EXIT_WAIT_MS)),
  ]);
  clearTimeout(timer);
  if (!gone) child.kill("SIGKILL");
  const status = await child.status;
  return {
    code: gone ? status.code : -1,
    stderr: (await stderr) + (gone ? "" : `\n(no exit within ${EXIT_WAIT_MS} ms of ${signal})`),
    wasReady,
    exitMs: performance.now() - sent,
  };
}

for (const [signal, code] of SIGNALS) {
  for (const command of ["save", "migrate"] as const) {
    Deno.test(`${command} --live to a file, ${signal}: exit ${code}, no file, guest running`, async () => {
      using dir = scratchDir();
      // A 1 GiB guest under write load: the first pass alone takes seconds.
      const sim = ["--sim", "mem=1G,rate=20000"];
      const args = command === "save"
        ? [XENMIG, "save", ...sim, "--live", "out.xl"]
        : [XENMIG, "migrate", ...sim, "--to", "out.xl"];
      const r = await interrupt(args, dir.path, signal, () => tempSize(dir.path) > 32 << 20);
      assert(r.wasReady, `the stream never started: ${r.stderr}`);
      assertEquals(r.code, code, r.stderr);
      // Promptly: not after the save would have finished anyway.
      assert(r.exitMs < 15_000, `exited ${r.exitMs.toFixed(0)} ms after ${signal}`);
      assertEquals(listDir(dir.path), [], "no temporary or partial file is left");
      assertStringIncludes(r.stderr, `xenmig ${command}: interrupted during`);
      assert(
        /domain \d+ running, log-dirty off, guest writing/.test(r.stderr),
        `the guest is reported restored and running: ${r.stderr}`,
      );
    });
  }
}

const legacy = await legacySeeds().catch(() => []);
const image = legacy.find((s) =>
  s.legacy?.guestType === "hvm" && !s.legacy.xl && s.bytes.length > 50_000
);

for (const [signal, code] of SIGNALS) {
  Deno.test({
    name: `convert-legacy-stream to a file, ${signal} mid-input: exit ${code}, no file`,
    ignore: image === undefined,
    fn: async () => {
      using dir = scratchDir();
      const fifo = `${dir.path}/in.fifo`;
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert(mk.success, "mkfifo");
      const args = [
        CONVERT_SCRIPT,
        ...["-i", "in.fifo", "-o", "out.v2", "-f", "libxl"],
        ...["-w", String(image!.legacy!.width), "-g", "hvm"],
      ];
      // Half the image, then nothing until the converter is gone: it waits mid-stream.
      let finished = () => {};
      const done = new Promise<void>((resolve) => finished = resolve);
      const feeding = (async () => {
        const w = await Deno.open(fifo, { write: true });
        try {
          await w.write(image!.bytes.subarray(0, image!.bytes.length >> 1));
          await done;
        } catch {
          // The reader went away.
        } finally {
          w.close();
        }
      })();
      const r = await interrupt(args, dir.path, signal, () => tempSize(dir.path) >= 0);
      finished();
      await feeding;
      assert(r.wasReady, `the output never started: ${r.stderr}`);
      assertEquals(r.code, code, r.stderr);
      assert(r.exitMs < 15_000, `exited ${r.exitMs.toFixed(0)} ms after ${signal}`);
      assertEquals(listDir(dir.path), ["in.fifo"]);
    },
  });
}
