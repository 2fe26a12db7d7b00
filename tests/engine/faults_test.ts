/**
 * Fault injection at the library level, where the source guest is in this
 * process and its state can be read directly: the receiver killed
 * mid-stream (TCP and '|CMD'), a broken pipe, a full disk, an abort in
 * every phase, a receiver that goes silent after permission to go.  Every
 * failure before that point must leave the source running (unpaused unless
 * it was paused before, log-dirty off, its workload writing again) and no
 * partial output; after it, the source must stay paused (never two copies).
 *
 * @module
 */

import assert from "node:assert/strict";
import { migrateDomain } from "../../lib/engine/migrate.ts";
import { policyByName } from "../../lib/engine/policy.ts";
import { restoreStream } from "../../lib/engine/restore.ts";
import { SaveAbortedError, type SavePhase, SaveSession } from "../../lib/engine/save_session.ts";
import {
  type Channel,
  memoryChannelPair,
  openSendChannel,
  parseTarget,
  type ReceiveChannel,
} from "../../lib/engine/transport.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { RateLimitedSink } from "../../lib/io/rate_limited_sink.ts";
import {
  MIGRATE_PERMISSION_TO_GO,
  MIGRATE_RECEIVER_BANNER,
  MIGRATE_RECEIVER_READY,
} from "../../lib/xl/migrate_protocol.ts";
import { assertGuestLeftRunning, freePort, MAIN, simSession, waitFor } from "./_support.ts";

const session = await simSession("mem=64M,vcpus=2");
const { hv, sim } = session;
globalThis.addEventListener("unload", () => session.close());

const MiB = 2 ** 20;

function busyGuest(rate = 20000, pattern = "uniform"): number {
  return sim.createDomain(`mem=64M,vcpus=2,rate=${rate},pattern=${pattern}`);
}

/** Migrates `src` over `channel`; returns the error and the phase the session was in. */
async function failingMigration(
  src: number,
  channel: Channel,
  options: Parameters<typeof migrateDomain>[3] = {},
): Promise<{ error: Error; phase?: SavePhase }> {
  let save: SaveSession | undefined;
  const error = await migrateDomain(hv, src, channel, {
    ...options,
    onSession: (s) => save = s,
  }).then(
    () => assert.fail("the migration succeeded"),
    (e: Error) => e,
  );
  assert.ok(error.message.length > 0 && !error.message.includes("\n"), error.message);
  return { error, phase: save?.abortedIn };
}

/** Whether a TCP port on 127.0.0.1 is in LISTEN state (without connecting to it). */
async function listening(port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const table = await Deno.readTextFile("/proc/net/tcp");
  return table.split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === `0100007F:${hex}` && f[3] === "0A";
  });
}

Deno.test("receiver killed mid-stream over TCP: the source runs on, log-dirty off", async () => {
  const src = busyGuest();
  const port = freePort();
  const receiver = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "receive", "--sim", "mem=64M", "--listen", `tcp://127.0.0.1:${port}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor(() => listening(port), "the receiver to listen");
    const channel = await openSendChannel(parseTarget(`tcp://127.0.0.1:${port}`));
    let killed = false;
    const { error, phase } = await failingMigration(src, channel, {
      maxBandwidth: 32 * MiB,
      onProgress: (p) => {
        if (!killed && p.totalBytes > 8 * MiB) {
          killed = true;
          receiver.kill("SIGKILL");
        }
      },
    });
    assert.ok(killed, `failed before the receiver was killed: ${error.message}`);
    assert.equal(phase, "precopy");
    assert.match(error.message, /reset|broken pipe|closed/i);
    await assertGuestLeftRunning(session, src);
  } finally {
    try {
      receiver.kill("SIGKILL");
    } catch { /* already dead */ }
    await receiver.status;
    sim.destroyDomain(src);
  }
});

Deno.test("receiver command killed mid-stream ('|CMD'): the source runs on, log-dirty off", async () => {
  const src = busyGuest();
  const dir = await Deno.makeTempDir();
  const pidFile = `${dir}/receiver.pid`;
  try {
    const channel = await openSendChannel(parseTarget(
      `|echo $$ > ${pidFile}; exec '${Deno.execPath()}' run -A '${MAIN}' receive --sim mem=64M`,
    ));
    let killed = false;
    const { error, phase } = await failingMigration(src, channel, {
      maxBandwidth: 32 * MiB,
      onProgress: (p) => {
        if (!killed && p.totalBytes > 8 * MiB) {
          killed = true;
          Deno.kill(Number(Deno.readTextFileSync(pidFile)), "SIGKILL");
        }
      },
    });
    assert.ok(killed, `failed before the receiver was killed: ${error.message}`);
    assert.equal(phase, "precopy");
    await assertGuestLeftRunning(session, src);
  } finally {
    await Deno.remove(dir, { recursive: true });
    sim.destroyDomain(src);
  }
});

Deno.test("broken pipe: the transport command exits mid-stream", async () => {
  const src = busyGuest();
  try {
    const channel = await openSendChannel(parseTarget("|head -c 3000000 >/dev/null"));
    const { error, phase } = await failingMigration(src, channel, { protocol: false });
    assert.equal(phase, "precopy");
    assert.match(error.message, /broken pipe/i);
    await assertGuestLeftRunning(session, src);
  } finally {
    sim.destroyDomain(src);
  }
});

/** Mounts a tmpfs of `size` at a new directory, or says why it cannot. */
async function smallTmpfs(size: string): Promise<string | { reason: string }> {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-enospc-" });
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
  if (out.success) return dir;
  await Deno.remove(dir);
  return { reason: new TextDecoder().decode(out.stderr).trim() };
}

const tmpfs = await smallTmpfs("4m");
const noTmpfs = typeof tmpfs === "string" ? undefined : `cannot mount a tmpfs: ${tmpfs.reason}`;
if (noTmpfs) console.log(`SKIPPED (ENOSPC on a small tmpfs): ${noTmpfs}`);
globalThis.addEventListener("unload", () => {
  if (typeof tmpfs === "string") {
    new Deno.Command("umount", { args: [tmpfs] }).outputSync();
    Deno.removeSync(tmpfs);
  }
});

Deno.test({
  name: `ENOSPC on the output file (4 MiB tmpfs): no partial file, the source runs on${
    noTmpfs ? ` — IGNORED: ${noTmpfs}` : ""
  }`,
  ignore: noTmpfs !== undefined,
  async fn() {
    const dir = tmpfs as string;
    for (const live of [true, false]) {
      const src = busyGuest();
      const channel = await openSendChannel(parseTarget(`${dir}/dom.save`));
      const save = new SaveSession(hv, src, channel.sink, { live });
      const error = await save.run().then(() => assert.fail("saved to a full disk"), (e) => e);
      await channel.abort();
      assert.match(error.message, /no space left on device/i);
      assert.equal(save.abortedIn, live ? "precopy" : "stopped");
      assert.deepEqual([...Deno.readDirSync(dir)], [], "a partial file was left");
      await assertGuestLeftRunning(session, src);
      sim.destroyDomain(src);
    }
  },
});

/** A receiver that restores the stream, then misbehaves as `how` says. */
async function fakeReceiver(
  rx: ReceiveChannel,
  how: "no ready" | "no report",
): Promise<void> {
  await rx.replies!.write(MIGRATE_RECEIVER_BANNER);
  const r = await restoreStream(hv, rx.source, { format: "xl" });
  hv.domain(r.domid).destroy();
  if (how === "no ready") return;
  await rx.replies!.write(MIGRATE_RECEIVER_READY);
  await r.reader.readExact(MIGRATE_PERMISSION_TO_GO.length);
  rx.close(); // goes silent instead of reporting
}

/**
 * Migrates `src` to a receiver that never says ready, aborting when `when`
 * says so (given the phase and iteration of each progress report), or — with
 * `when` "done" — once stop-and-copy is over; returns what became of it.
 */
async function abortedMigration(
  src: number,
  when: ((phase: SavePhase, iteration: number) => boolean) | "done",
  options: Parameters<typeof migrateDomain>[3] = {},
) {
  const [tx, rx] = memoryChannelPair();
  const receiving = fakeReceiver(rx, "no ready").catch(() => {});
  const controller = new AbortController();
  let save: SaveSession | undefined;
  let abortedAt: SavePhase | undefined;
  const outcome = migrateDomain(hv, src, tx, {
    maxBandwidth: 64 * MiB,
    ...options,
    signal: controller.signal,
    onSession: (s) => save = s,
    onProgress: (p) => {
      if (!abortedAt && when !== "done" && when(p.phase, p.iteration)) {
        abortedAt = p.phase;
        controller.abort("interrupted");
      }
    },
  }).then(() => assert.fail("the migration succeeded"), (e: Error) => e);
  if (when === "done") {
    await waitFor(() => save?.phase === "done", "the end of stop-and-copy");
    assert.equal(hv.domain(src).info().paused, true, "not paused after stop-and-copy");
    abortedAt = "done";
    controller.abort("interrupted");
  }
  const error = await outcome;
  await receiving;
  return { error, abortedAt, save: save! };
}

Deno.test("abort in each phase of a migration: the source runs on, the error names the phase", async (t) => {
  await t.step("precopy", async () => {
    const src = busyGuest();
    const { error, abortedAt, save } = await abortedMigration(
      src,
      (phase, iteration) => phase === "precopy" && iteration === 1,
    );
    assert.equal(abortedAt, "precopy");
    assert.equal(save.abortedIn, "precopy");
    assert.ok(error instanceof SaveAbortedError, error.message);
    assert.match(error.message, /^save aborted during precopy: interrupted$/);
    await assertGuestLeftRunning(session, src);
    sim.destroyDomain(src);
  });
  await t.step("stop-and-copy (the guest paused, the final pass under way)", async () => {
    // Dirtying all of memory per pass: the downtime policy stops at once and
    // the final pass sends nearly every page again.
    const src = busyGuest(200000);
    const { error, abortedAt, save } = await abortedMigration(
      src,
      (phase) => phase === "stopped",
      { policy: policyByName("downtime"), maxBandwidth: 32 * MiB },
    );
    assert.equal(abortedAt, "stopped");
    assert.equal(save.abortedIn, "stopped");
    assert.ok(error instanceof SaveAbortedError, error.message);
    assert.match(error.message, /^save aborted during stopped: interrupted$/);
    await assertGuestLeftRunning(session, src);
    sim.destroyDomain(src);
  });
  await t.step("after stop-and-copy, waiting for the receiver's ready message", async () => {
    const src = busyGuest(2000);
    const { abortedAt, save } = await abortedMigration(src, "done");
    assert.equal(abortedAt, "done");
    assert.equal(save.abortedIn, "done");
    await assertGuestLeftRunning(session, src);
    sim.destroyDomain(src);
  });
  await t.step("before the stream: waiting for the receiver's banner", async () => {
    const src = busyGuest();
    const [tx] = memoryChannelPair(); // nobody answers
    const controller = new AbortController();
    let save: SaveSession | undefined;
    const result = migrateDomain(hv, src, tx, {
      signal: controller.signal,
      onSession: (s) => save = s,
    });
    await waitFor(() => save !== undefined, "the session");
    controller.abort("interrupted"); // the engine stops waiting by itself
    await assert.rejects(result, /^SaveAbortedError: save aborted during new: interrupted$/);
    assert.equal(save!.abortedIn, "new");
    await assertGuestLeftRunning(session, src);
    sim.destroyDomain(src);
  });
});

Deno.test("a save of a guest that was paused before leaves it paused when aborted", async () => {
  const src = busyGuest();
  hv.domain(src).pause();
  const controller = new AbortController();
  const save = new SaveSession(hv, src, new RateLimitedSink(memorySink(), 64 * MiB), {
    live: false,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.pagesSent > 4096) controller.abort("interrupted");
    },
  });
  await assert.rejects(save.run(), /save aborted during stopped: interrupted/);
  await assertGuestLeftRunning(session, src, true);
  hv.domain(src).unpause();
  await assertGuestLeftRunning(session, src);
  sim.destroyDomain(src);
});

Deno.test("receiver silent after permission to go: the source stays paused (never two copies)", async () => {
  const src = busyGuest(2000);
  const [tx, rx] = memoryChannelPair();
  const receiving = fakeReceiver(rx, "no report");
  const error = await migrateDomain(hv, src, tx, { maxBandwidth: 64 * MiB }).then(
    () => assert.fail("the migration succeeded"),
    (e: Error) => e,
  );
  await receiving;
  assert.match(error.message, /permission to go but did not report.*left stopped at the source/);
  const info = hv.domain(src).info();
  assert.equal(info.paused, true);
  assert.equal(sim.stats(src).logDirty, false);
  sim.destroyDomain(src);
});

Deno.test("a session aborted from outside mid-step stops there: no log-dirty left on", async () => {
  const src = busyGuest();
  const sink = new RateLimitedSink(memorySink(), 64 * MiB);
  const save = new SaveSession(hv, src, sink, { live: true });
  const starting = save.start();
  save.abort("operator"); // while the headers are written
  await assert.rejects(starting, /save aborted during new: operator/);
  assert.equal(save.abortedIn, "new");
  await assertGuestLeftRunning(session, src);
  // And mid-pass: the pass stops at its next record.
  const save2 = new SaveSession(hv, src, sink, { live: true });
  const running = save2.run();
  await waitFor(() => save2.phase === "precopy", "precopy");
  save2.abort("operator");
  await assert.rejects(running, /save aborted during precopy: operator/);
  await assertGuestLeftRunning(session, src);
  sim.destroyDomain(src);
});
