/**
 * Faults and interrupts through the `xenmig` CLI, as a subprocess with
 * `--sim`: the guest lives in that process, so every check is on what the
 * CLI reports — its exit code, its one error line (naming the phase and the
 * guest's state) and, with `--json`, the guest's state read back from the
 * simulator after cleanup (paused? log-dirty? still writing memory?) — and
 * on the files it leaves.  SIGINT is sent in each phase, identified by the
 * CLI's own `--json` progress events.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MIGRATE_RECEIVER_BANNER } from "../../lib/xl/migrate_protocol.ts";
import { type CliRun, freePort, spawnCli, waitFor } from "./_support.ts";

const BANNER = new TextDecoder().decode(MIGRATE_RECEIVER_BANNER).replace("\n", "\\n");

/** Runs `xenmig ARGS`, sending SIGINT at the first progress event `at` matches. */
function interruptAt(
  args: string[],
  at: (e: CliRun["events"][number]) => boolean,
): Promise<CliRun & { sent: boolean }> {
  let sent = false;
  const { done } = spawnCli(args, (e, child) => {
    if (!sent && at(e)) {
      sent = true;
      child.kill("SIGINT");
    }
  });
  return done.then((r) => ({ ...r, sent }));
}

/**
 * An interrupted run: exit 130, one line naming `phase`, and the guest
 * (read back after cleanup) running, log-dirty off, writing memory again.
 */
function assertInterrupted(r: CliRun & { sent: boolean }, command: string, phase: string): void {
  assert.ok(r.sent, `never reached the phase; stderr: ${r.errors.join(" | ")}`);
  // Every event says when, since the process started (start-up included).
  const times = r.events.map((e) => e.ms);
  assert.ok(times[0] > 0 && times.every((t, i) => i === 0 || t >= times[i - 1]), `${times}`);
  assert.equal(r.code, 130, `exit code; stderr: ${r.errors.join(" | ")}`);
  assert.deepEqual(r.errors, [
    `xenmig ${command}: interrupted during ${phase}; domain 1 running, log-dirty off, guest writing`,
  ]);
  assert.deepEqual(r.report, {
    ok: false,
    phase,
    error: "interrupted",
    guest: { domid: 1, paused: false, logDirty: false, guestWrites: true },
  });
}

/** A failed run: exit 1, one line matching `line`, the guest running, log-dirty off. */
function assertFailed(r: CliRun, line: RegExp, phase: string): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.errors.join(" | ")}`);
  assert.equal(r.errors.length, 1, `one error line, got:\n${r.errors.join("\n")}`);
  assert.match(r.errors[0], line);
  assert.match(r.errors[0], /; domain 1 running, log-dirty off, guest writing$/);
  assert.equal(r.report?.phase, phase);
  assert.deepEqual(r.report?.guest, {
    domid: 1,
    paused: false,
    logDirty: false,
    guestWrites: true,
  });
}

const SIM = ["--sim", "mem=64M,vcpus=2,rate=20000", "--json"];

Deno.test("SIGINT during migrate's setup (the receiver never greets)", async () => {
  const r = await interruptAt(
    ["migrate", ...SIM, "--to", "|exec sleep 60"],
    (e) => e.event === "start",
  );
  assertInterrupted(r, "migrate", "setup");
});

Deno.test("SIGINT during migrate's precopy", async () => {
  const r = await interruptAt(
    ["migrate", ...SIM, "--max-bandwidth", "16", "--no-protocol", "--to", "|cat >/dev/null"],
    (e) => e.phase === "precopy",
  );
  assertInterrupted(r, "migrate", "precopy");
});

Deno.test("SIGINT during migrate's stop-and-copy (the guest paused)", async () => {
  // Dirtying all memory per pass: the downtime policy stops at once and the
  // final pass resends nearly every page at 32 MiB/s (about two seconds).
  const r = await interruptAt(
    [
      "migrate",
      "--sim",
      "mem=64M,vcpus=2,rate=200000",
      "--json",
      "--policy",
      "downtime",
      "--max-bandwidth",
      "32",
      "--no-protocol",
      "--to",
      "|cat >/dev/null",
    ],
    (e) => e.phase === "stopped",
  );
  assertInterrupted(r, "migrate", "stop-and-copy");
});

Deno.test("SIGINT during migrate's final handshake (the receiver never says ready)", async () => {
  const r = await interruptAt(
    [
      "migrate",
      "--sim",
      "mem=64M,vcpus=2,rate=2000",
      "--json",
      "--to",
      // The receiver keeps its reply pipe open and never says ready (an
      // `exec cat >/dev/null` would close it at once: a race with SIGINT).
      `|printf '${BANNER}'; cat >/dev/null; sleep 60`,
    ],
    (e) => e.phase === "done",
  );
  assertInterrupted(r, "migrate", "the final handshake");
});

Deno.test("SIGINT during a live save's precopy and a non-live save's stop-and-copy: no file left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const live = await interruptAt(
      ["save", ...SIM, "--live", "--max-bandwidth", "16", `${dir}/live.save`],
      (e) => e.phase === "precopy",
    );
    assertInterrupted(live, "save", "precopy");
    const still = await interruptAt(
      ["save", ...SIM, "--max-bandwidth", "16", `${dir}/paused.save`],
      (e) => e.phase === "stopped",
    );
    assertInterrupted(still, "save", "stop-and-copy");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "partial output left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether a TCP port on 127.0.0.1 is in LISTEN state (without connecting to it). */
async function listening(port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return (await Deno.readTextFile("/proc/net/tcp")).split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === `0100007F:${hex}` && f[3] === "0A";
  });
}

Deno.test("migrate to a TCP receiver killed mid-stream: one line naming the phase", async () => {
  const port = freePort();
  const receiver = spawnCli(["receive", "--sim", "mem=64M", "--listen", `tcp://127.0.0.1:${port}`]);
  await waitFor(() => listening(port), "the receiver to listen");
  let killed = false;
  const { done } = spawnCli(
    ["migrate", ...SIM, "--max-bandwidth", "32", "--to", `tcp://127.0.0.1:${port}`],
    (e) => {
      if (!killed && e.phase === "precopy") {
        killed = true;
        receiver.child.kill("SIGKILL");
      }
    },
  );
  const r = await done;
  await receiver.done;
  assert.ok(killed);
  assertFailed(
    r,
    /^xenmig migrate: migration to tcp:\/\/127\.0\.0\.1:\d+ failed during precopy: .+/,
    "precopy",
  );
});

Deno.test("migrate to a receiver command killed mid-stream ('|CMD'): one line naming the phase", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidFile = `${dir}/receiver.pid`;
    const receiver = `echo $$ > ${pidFile}; exec '${Deno.execPath()}' run -A cli/main.ts receive ` +
      "--sim mem=64M";
    let killed = false;
    const { done } = spawnCli(
      ["migrate", ...SIM, "--max-bandwidth", "32", "--to", `|${receiver}`],
      (e) => {
        if (!killed && e.phase === "precopy") {
          killed = true;
          Deno.kill(Number(Deno.readTextFileSync(pidFile)), "SIGKILL");
        }
      },
    );
    const r = await done;
    assert.ok(killed);
    assertFailed(
      r,
      /^xenmig migrate: migration to command '.*' failed during precopy: .+/,
      "precopy",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate into /dev/full through a descriptor: one line naming the phase", async () => {
  const main = `'${Deno.execPath()}' run -A cli/main.ts`;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `exec 3>/dev/full; exec ${main} migrate --sim mem=64M,vcpus=2,rate=20000 --json ` +
      "--no-protocol --to fd:3",
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr).split("\n").filter((l) =>
    l && !l.startsWith("{")
  );
  const stdout = new TextDecoder().decode(out.stdout);
  const report = JSON.parse(stdout.split("\n").find((l) => l.startsWith('{"ok":false'))!);
  assertFailed(
    { code: out.code, stdout, errors: stderr, events: [], report },
    /^xenmig migrate: migration to fd 3 failed during precopy: write\(fd 3\) failed/,
    "precopy",
  );
});

Deno.test("save onto a full disk (4 MiB tmpfs): one line naming the phase, no file left", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-enospc-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir],
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!mount?.success) {
    await Deno.remove(dir);
    const why = mount ? new TextDecoder().decode(mount.stderr).trim() : "no mount command";
    console.log(`SKIPPED: cannot mount a tmpfs (${why}); /dev/full is covered above`);
    await t.step({ name: `IGNORED: cannot mount a tmpfs (${why})`, ignore: true, fn() {} });
    return;
  }
  try {
    const { done } = spawnCli(["save", ...SIM, "--live", `${dir}/dom.save`]);
    const r = await done;
    assertFailed(
      r,
      /^xenmig save: save failed during precopy: No space left on device \(os error 28\)/,
      "precopy",
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "partial output left");
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
    await Deno.remove(dir);
  }
});
