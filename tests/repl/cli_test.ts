/**
 * `xenmig repl` as a process: `--script FILE` and commands piped on stdin,
 * text and `--json` output, exit codes, and what happens at the end of
 * input.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openInput } from "../../lib/io/byte_source.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { XENMIG } from "./_support.ts";

const SIM = "mem=64M,rate=2000,pattern=hot:5%";
const decoder = new TextDecoder();

async function repl(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", XENMIG, "repl", ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { XDG_STATE_HOME: "/nonexistent-xenmig-test" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
}

Deno.test("repl --script FILE --json: one JSON object per command, the stream kept with --to", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-repl-cli-" });
  try {
    const commands = [
      "# a comment, then a blank line",
      "",
      "status",
      "start",
      "step",
      "step",
      "policy downtime:200",
      "until iter >= 4",
      "stats",
      "bitmap 32x4",
      "top 3",
      "records 3",
      "inspect 0x1000",
      "workload 100 uniform",
      "eval stats.iterations.length",
      ".engine.phase",
      "pause",
      "unpause",
      "finish",
      "unpause",
      "quit",
      "status",
    ];
    await Deno.writeTextFile(`${dir}/script`, commands.join("\n"));
    const r = await repl([
      "--sim",
      SIM,
      "--json",
      "--to",
      `${dir}/out.xl`,
      "--script",
      `${dir}/script`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = jsonLines(r.stdout);
    const expected = [
      "attach",
      ...commands.slice(2, -1).map((c) => c.startsWith(".") ? "eval" : c.split(" ")[0]),
    ];
    assert.deepEqual(
      lines.map((l) => l.command),
      expected,
      "one line per command; none after quit",
    );
    for (const l of lines) assert.equal(l.ok, true, JSON.stringify(l));
    const byCommand = (name: string) => lines.find((l) => l.command === name)!;
    assert.equal(byCommand("attach").protocol, false);
    assert.equal(lines[expected.indexOf("until")].stopped, "'iter >= 4' holds");
    assert.equal(byCommand("eval").value, 4, "iterations 0..3");
    assert.equal(lines.filter((l) => l.command === "eval")[1].value, "precopy");
    assert.equal(byCommand("finish").outcome, "saved");
    assert.equal((byCommand("policy") as { policy: string }).policy, "downtime");
    const v = await verifyStream(await openInput(`${dir}/out.xl`), { format: "xl" });
    assert.equal(v.exitCode, 0, v.error?.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("repl with commands piped on stdin: replies on stdout, one error line each on stderr, exit 1", async () => {
  const r = await repl(["--sim", SIM], "step\nstart\nstep\nbogus\nfinish\nfinish\n");
  assert.equal(r.code, 1, "a command failed");
  const errors = r.stderr.trimEnd().split("\n");
  assert.deepEqual(errors, [
    "error: step: not started yet ('start' first)",
    "error: unknown command 'bogus'; 'help' lists the commands",
    "error: finish: this migration is finished ('attach' to begin another)",
  ]);
  assert.match(
    r.stdout,
    /^attached to domain \d+ \(simulated HVM, 64 MiB, running\); stream goes to nowhere/,
  );
  assert.match(r.stdout, /\n> start\nlog-dirty on for domain \d+/);
  assert.match(r.stdout, /\n> step\niter 1: sent \d+ pages/);
  assert.match(r.stdout, /stream complete: nowhere \(discarded/);
  assert.match(r.stdout, /end of input: resumed domain \d+ \(paused since its stop-and-copy\)\n$/);
});

Deno.test("repl: end of input during a migration aborts it, says so, and exits 1", async () => {
  const r = await repl(["--sim", SIM, "--json"], "start\nstep\n");
  assert.equal(r.code, 1);
  const lines = jsonLines(r.stdout);
  assert.deepEqual(lines.map((l) => l.command), ["attach", "start", "step", "(end of input)"]);
  const end = lines.at(-1)!;
  assert.equal(end.ok, false);
  assert.equal(end.error, "end of input during a migration");
  assert.deepEqual(end.cleanup, [
    `aborted the migration during precopy: log-dirty off, domain ${
      lines[0].domid
    } running, output discarded`,
  ]);
});

Deno.test("repl: quit refuses in a script (no one to ask); quit! cleans up", async () => {
  const r = await repl(["--sim", SIM, "--json"], "start\nquit\nstatus\nquit!\nstatus\n");
  assert.equal(r.code, 1, "the refused quit counts as a failure");
  const lines = jsonLines(r.stdout);
  assert.deepEqual(lines.map((l) => l.command), ["attach", "start", "quit", "status", "quit!"]);
  assert.equal(lines[2].ok, false);
  assert.match(lines[2].error as string, /log-dirty on.*'quit!' to clean up and quit/);
  assert.equal(lines[3].phase, "precopy", "still usable after the refusal");
  assert.match((lines[4].cleanup as string[])[0], /^aborted the migration during precopy/);
});

Deno.test("repl command line: help, usage errors (exit 2), a missing domain (exit 1)", async () => {
  const help = await repl(["--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--script", "--json", "--to", "--sim", "--keep-source", "--policy"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const bad = await repl(["--sim", SIM, "abc"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^xenmig repl: 'abc' is not a domid/);
  const policy = await repl(["--sim", SIM, "--policy", "sometimes"]);
  assert.equal(policy.code, 2);
  assert.match(policy.stderr, /unknown policy 'sometimes'/);
  const missing = await repl(["--sim", SIM, "999"], "status\n");
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trimEnd().split("\n").length, 1, missing.stderr);
  assert.match(missing.stderr, /^error: .*999/);
  const listed = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", XENMIG, "help"] })
    .output();
  assert.match(decoder.decode(listed.stdout), /\n {2}repl +Step through a live migration/);
});
