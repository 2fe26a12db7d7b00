/**
 * The REPL driven in-process, line by line, on the simulator: the whole
 * flow with a stream that both verifiers accept and a destination whose
 * memory equals the paused source; every command; bad input and wrong
 * states; leaving; Ctrl-C; xl's migrate handshake over TCP.
 *
 * @module
 */

import type { DomainInfo } from "../../lib/xen/types.ts";
import assert from "node:assert/strict";
import { compareMemory } from "../../lib/engine/compare_memory.ts";
import { receiveDomain } from "../../lib/engine/migrate.ts";
import { restoreStream } from "../../lib/engine/restore.ts";
import { acceptReceiveChannel } from "../../lib/engine/transport.ts";
import { openInput } from "../../lib/io/byte_source.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { runReference } from "../support/corpus/processes.ts";
import { xenReference } from "../support/xen_packages.ts";
import { testRepl } from "./_support.ts";

const ref = await xenReference();
const noReference = typeof ref === "string"
  ? `Xen reference unavailable (${ref}): Xen's verify-stream-v2 check skipped`
  : undefined;
if (noReference) console.log(noReference);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("repl end to end: start, step x3, policy switches, run, finish; both verifiers pass; destination memory equals the paused source", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-repl-" });
  const file = `${dir}/guest.xl`;
  try {
    await using r = await testRepl("mem=64M,rate=20000,pattern=hot:5%", { to: file });
    const hv = r.backend.hv;
    const start = await r.ok("start");
    assert.equal((start.data.iteration as { iteration: number }).iteration, 0);
    assert.equal(r.session.migration!.engine.phase, "precopy");
    assert.equal(r.backend.sim!.stats(r.domid).logDirty, true, "log-dirty on after start");
    for (let i = 1; i <= 3; i++) {
      const step = await r.ok("step");
      assert.equal((step.data.iteration as { iteration: number }).iteration, i, "one iteration");
      assert.equal(r.session.migration!.engine.stats.iterations.length, i + 1);
    }
    assert.equal((await r.ok("policy downtime")).data.policy, "downtime");
    assert.equal(r.session.migration!.engine.policy.name, "downtime");
    const user = await r.ok("policy s.iteration >= 6 ? 'stop-and-copy' : 'continue'");
    assert.equal(user.data.policy, "user");
    assert.equal(user.data.decision, "continue");
    const run = await r.ok("run");
    assert.equal(run.data.stopped, "policy says stop-and-copy");
    assert.equal((run.data.iterations as unknown[]).length, 2, "iterations 4 and 5");
    assert.equal(r.session.migration!.engine.precopyStats().iteration, 6);
    const finish = await r.ok("finish");
    assert.equal(finish.data.outcome, "saved");
    assert.equal(finish.data.sourcePaused, true);
    assert.equal(stopped(hv.domain(r.domid).info()), true, "source stopped after stop-and-copy");
    assert.equal(r.backend.sim!.stats(r.domid).logDirty, false, "log-dirty off after finish");
    const stats = finish.data.stats as { iterations: unknown[]; policy: string };
    // Iterations 0 to 5, then stop-and-copy's live pass of the last dirty set.
    assert.equal(stats.iterations.length, 7);
    assert.equal(stats.policy, "user");

    await t.step("xenmig's verifier accepts the stream (strict)", async () => {
      const v = await verifyStream(await openInput(file), { format: "xl", strict: true });
      assert.equal(v.exitCode, 0, v.error?.message);
    });
    await t.step({
      name: "Xen's verify-stream-v2 accepts the stream",
      ignore: noReference !== undefined,
      fn: async () => {
        const x = await runReference(ref as Exclude<typeof ref, string>, ["-f", "xl", "-i", file]);
        assert.equal(x.code, 0, x.stderr);
      },
    });
    await t.step(
      "the restored domain's memory equals the paused source, page for page",
      async () => {
        // The source, kept, still holds its name.
        const restored = await restoreStream(hv, await openInput(file), { name: "restored" });
        try {
          const cmp = compareMemory(hv, r.domid, restored.domid);
          assert.ok(cmp.pages > 16000, `compared ${cmp.pages} pages`);
          assert.equal(cmp.mismatches, 0, `first mismatch at pfn ${cmp.firstMismatch}`);
          assert.equal(cmp.missing, 0);
          assert.equal(r.backend.sim!.verifyDomain(restored.domid).bad, 0, "page stamps");
        } finally {
          hv.domain(restored.domid).destroy();
        }
      },
    );
    const quit = await r.ok("quit!");
    assert.equal(quit.exit, true);
    assert.match(quit.text, /resumed domain \d+/);
    assert.equal(stopped(hv.domain(r.domid).info()), false, "quit! resumed the saved source");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("repl: every command does what it says (deterministic guest, pages dirtied through eval)", async () => {
  await using r = await testRepl("mem=64M,rate=0");
  const hv = r.backend.hv;
  const sim = r.backend.sim!;
  assert.match((await r.ok("help")).text, /until <condition>/);
  assert.match((await r.ok("help until")).text, /dirtyPct/);
  assert.equal((await r.ok("?")).data.commands instanceof Array, true);
  const status = await r.ok("status");
  assert.equal(status.data.phase, "new");
  assert.equal(status.data.logDirty, false);
  assert.match((await r.ok("policy")).text, /nothing to decide before 'start'/);

  await r.ok("start");
  assert.equal((await r.ok("policy")).data.decision, "stop-and-copy", "xen: 0 dirty < 50");
  // Dirty 3 pages low and 16 in the range 0x200..0x20f, through the guest's write path.
  const pfns = [1, 2, 3, ...Array.from({ length: 16 }, (_, i) => 0x200 + i)];
  await r.ok(`eval sim.writePages(domain.domid, ${JSON.stringify(pfns)})`);
  const step = await r.ok("step");
  assert.equal((step.data.iteration as { dirtyCount: number }).dirtyCount, 19);

  const bitmap = await r.ok("bitmap 16x4");
  assert.equal(bitmap.data.dirty, 19);
  assert.equal(bitmap.data.columns, 16);
  assert.equal(bitmap.data.rows, 4);
  assert.equal((bitmap.data.counts as number[]).reduce((a, b) => a + b, 0), 19);
  assert.match(bitmap.text, /19 of \d+ pfns dirty/);
  const top = await r.ok("top 2");
  assert.deepEqual(top.data.ranges, [
    { first: 0x200, last: 0x3ff, dirty: 16, size: 512 },
    { first: 0, last: 0x1ff, dirty: 3, size: 512 },
  ]);
  const inspect = await r.ok("inspect 0x201");
  assert.equal(inspect.data.dirty, true);
  assert.ok((inspect.data.generation as number) > 0, "written by the guest");
  assert.match(inspect.text, /^pfn 0x201 of domain \d+: type NOTAB, dirty/);
  assert.notEqual(inspect.data.hex, "00".repeat(4096));
  assert.equal((await r.ok("inspect 0x300")).data.dirty, false);

  const stats = await r.ok("stats");
  assert.equal((stats.data.stats as { iterations: unknown[] }).iterations.length, 2);
  const records = await r.ok("records 3");
  const recs = records.data.records as { type: string; offset: number; bytes: number }[];
  assert.equal(recs.length, 3);
  assert.equal(recs.at(-1)!.type, "PAGE_DATA");

  const until = await r.ok("until dirty < 1");
  assert.equal((until.data.iterations as unknown[]).length, 1, "one pass sends the 19 pages");
  assert.equal(until.data.stopped, "'dirty < 1' holds");
  assert.equal(
    (await r.ok("until iter >= 5 and dirty == 0")).data.iterations instanceof Array,
    true,
  );
  assert.equal(r.session.migration!.engine.precopyStats().iteration, 5);
  const noop = await r.ok("until iter >= 2");
  assert.equal((noop.data.iterations as unknown[]).length, 0, "already true: no iteration");
  assert.equal((await r.ok("run 2")).data.stopped, "policy says stop-and-copy");
  await r.ok("policy 'continue'");
  const run2 = await r.ok("run 2");
  assert.equal((run2.data.iterations as unknown[]).length, 2);
  assert.equal(run2.data.stopped, "2 iterations done");
  await r.ok("policy xen");

  assert.equal((await r.ok("pause")).data.paused, true);
  assert.equal(hv.domain(r.domid).info().paused, true);
  assert.match(await r.fails("pause"), /already paused/);
  assert.equal((await r.ok("unpause")).data.paused, false);
  assert.match(await r.fails("unpause"), /is not paused/);

  assert.equal((await r.ok("workload 1000 hot:5%")).data.pattern, "hot:5%");
  const w = await r.ok("workload");
  assert.equal(w.data.rate, 1000);
  assert.equal((await r.ok("workload rate=0")).data.pattern, "hot:5%", "pattern kept");
  assert.match(await r.fails("workload 10 zigzag"), /pattern=zigzag/);

  assert.equal((await r.ok(".engine.phase")).data.value, "precopy");
  assert.equal((await r.ok("eval (stats.iterations as unknown[]).length")).data.value, 7, "TS");
  assert.equal((await r.ok("eval await Promise.resolve(s.dirtyCount)")).data.value, 0);
  assert.equal((await r.ok("eval const n = 6; return n * 7")).data.value, 42);
  assert.match(await r.fails("eval domain.nonexistent()"), /^eval: TypeError/);
  assert.match(await r.fails("eval )("), /^eval: not a JavaScript\/TypeScript expression/);

  const abort = await r.ok("abort");
  assert.equal(abort.data.abortedIn, "precopy");
  assert.equal(abort.data.running, true);
  assert.equal(sim.stats(r.domid).logDirty, false, "log-dirty off after abort");
  assert.equal(hv.domain(r.domid).info().paused, false);
  assert.match(await r.fails("abort"), /already aborted/);
  assert.match(await r.fails("step"), /aborted \('attach' to begin another\)/);

  assert.equal((await r.ok("attach")).data.domid, r.domid);
  assert.equal((await r.ok("status")).data.phase, "new");
  await r.ok("detach");
  assert.match(await r.fails("step"), /no domain attached/);
  assert.match((await r.ok("status")).text, /no domain attached/);
  await r.ok(`attach ${r.domid}`);
  const quit = await r.ok("quit");
  assert.equal(quit.exit, true);
});

Deno.test("repl: bad input and wrong states give one clear line and the session goes on", async () => {
  await using r = await testRepl("mem=64M,rate=0");
  assert.match(await r.fails("frobnicate"), /unknown command 'frobnicate'.*'help'/);
  assert.match(await r.fails("stpe"), /did you mean .*step/);
  assert.match(await r.fails("step"), /step: not started yet \('start' first\)/);
  assert.match(await r.fails("finish"), /finish: not started yet/);
  assert.match(await r.fails("run"), /run: not started yet/);
  assert.match(await r.fails("until dirty < 5"), /until: not started yet/);
  assert.match(await r.fails("bitmap"), /not started yet/);
  assert.match(await r.fails("abort"), /not started; nothing to abort/);
  await r.ok("start");
  assert.match(await r.fails("start"), /start: already started/);
  assert.match(
    await r.fails("until dirty <"),
    /^until: expected a number, a name or '\(' at column 8, got the end/,
  );
  assert.match(await r.fails("until dirty"), /is a number, not a condition/);
  assert.match(await r.fails("until bogus > 1"), /unknown name 'bogus'/);
  assert.match(await r.fails("until 1 < 2 < 3"), /'and' or 'or' between comparisons/);
  assert.match(await r.fails("until dirty; Deno.exit(1)"), /unexpected ';'/);
  assert.match(await r.fails("policy downtime:abc"), /unknown policy/);
  assert.match(await r.fails("policy s.dirtyCount <"), /not a JavaScript\/TypeScript expression/);
  assert.match(
    await r.fails("policy 'sideways'"),
    /fails on the current statistics: .*'sideways'|"sideways"/,
  );
  assert.equal(r.session.policy.name, "xen", "a rejected policy changes nothing");
  assert.match(await r.fails("top 0"), /N must be a whole number in 1\.\.10000, not '0'/);
  assert.match(await r.fails("top many"), /not 'many'/);
  assert.match(await r.fails("records 100"), /in 1\.\.63/);
  assert.match(await r.fails("inspect"), /give one PFN/);
  assert.match(await r.fails("inspect 0x99999999"), /PFN must be a whole number in 0\.\./);
  assert.match(await r.fails("inspect 0xa0"), /has no contents|could not be mapped/);
  assert.match(await r.fails("bitmap 0"), /COLUMNS must be a whole number in 1\.\.1000/);
  assert.match(await r.fails("bitmap wide"), /COLUMNS or COLUMNSxROWS/);
  assert.match(await r.fails("step now"), /unexpected argument 'now'/);
  assert.match(await r.fails("attach abc"), /DOMID must be a whole number/);
  assert.match(await r.fails("attach 4000"), /in progress/);
  assert.match(await r.fails("detach"), /in progress/);
  assert.match(await r.fails("help frob"), /no command 'frob'/);
  assert.match(await r.fails("workload rate=5 colour=red"), /unknown setting 'colour'/);
  await r.ok("finish");
  assert.match(await r.fails("finish"), /already|finished/);
  assert.match(await r.fails("step"), /finished \('attach' to begin another\)/);
  assert.match(await r.fails("abort"), /already finished/);
  assert.match(await r.fails("attach"), /paused since its stop-and-copy: 'unpause' it first/);
  await r.ok("unpause");
  await r.ok("attach");
  assert.match(await r.fails("attach 4000"), /domain 4000|No such|ESRCH|not found/i);
  assert.equal((await r.ok("status")).data.phase, "new", "still usable");
});

Deno.test("repl: quit refuses to leave a guest in log-dirty mode or paused without saying so", async () => {
  await using r = await testRepl("mem=64M,rate=0");
  const hv = r.backend.hv;
  await r.ok("start");
  assert.match(await r.fails("quit"), /in progress \(phase precopy, log-dirty on\).*'quit!'/);
  assert.equal(r.session.migration!.engine.phase, "precopy", "nothing changed");
  r.session.setConfirm(() => Promise.resolve(false));
  assert.match(await r.fails("quit"), /log-dirty on/, "declined");
  r.session.setConfirm(() => Promise.resolve(true));
  const confirmed = await r.ok("quit");
  assert.equal(confirmed.exit, true);
  assert.match(confirmed.text, /aborted the migration during precopy: log-dirty off/);
  assert.equal(r.backend.sim!.stats(r.domid).logDirty, false);
  r.session.setConfirm(undefined);

  await r.ok("attach");
  await r.ok("pause");
  assert.match(await r.fails("quit"), /paused \(by 'pause'\)/);
  assert.match(await r.fails("detach"), /paused by 'pause'/);
  assert.match(await r.fails("start"), /paused by 'pause': 'unpause' it first/);
  const forced = await r.ok("quit!");
  assert.match(forced.text, /unpaused domain \d+/);
  assert.equal(hv.domain(r.domid).info().paused, false);

  await r.ok("attach");
  await r.ok("start");
  await r.ok("finish");
  assert.match(await r.fails("quit"), /paused since its stop-and-copy/);
  await r.ok("unpause");
  assert.equal(hv.domain(r.domid).info().paused, false);
  assert.equal((await r.ok("quit")).text, "", "nothing left to clean up");
});

Deno.test("repl: Ctrl-C stops a running 'run' after the current iteration, not the session", async () => {
  await using r = await testRepl("mem=64M,rate=0", {
    onSay: (_line, session) => {
      // "Ctrl-C" whenever a fourth, eighth, ... iteration is printed.
      if (session.migration!.engine.stats.iterations.length % 4 === 0) session.interrupt();
    },
  });
  await r.ok("start");
  await r.ok("policy false");
  const run = await r.ok("run");
  assert.equal(run.data.interrupted, true);
  assert.equal(run.data.stopped, "interrupted (Ctrl-C)");
  assert.equal((run.data.iterations as unknown[]).length, 3);
  const until = await r.ok("until iter >= 9");
  assert.equal(until.data.interrupted, true, "a new command forgets the old Ctrl-C");
  assert.equal((until.data.iterations as unknown[]).length, 4);
  await r.ok("step");
  assert.equal(r.session.migration!.engine.phase, "precopy");
});

Deno.test("repl: 'abort' to a file target leaves no file and the guest running", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xenmig-repl-" });
  try {
    await using r = await testRepl("mem=64M,rate=5000", { to: `${dir}/out.xl` });
    await r.ok("start");
    await r.ok("step");
    await r.ok("abort");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no file, no temp file");
    assert.equal(r.backend.hv.domain(r.domid).info().paused, false);
    const g0 = r.backend.sim!.stats(r.domid).writes;
    let writes = g0;
    for (let i = 0; i < 2000 && writes === g0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      writes = r.backend.sim!.stats(r.domid).writes;
    }
    assert.ok(writes > g0, "the guest runs (writes memory) after abort");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("repl over TCP speaks xl's migrate handshake: the receiver's copy equals the kept source", async () => {
  await using r = await testRepl("mem=64M,rate=20000,pattern=hot:5%", {
    to: `tcp://127.0.0.1:${freePort()}`,
    keepSource: true,
    noAttach: true,
  });
  const hv = r.backend.hv;
  const target = r.session.target as { port: number };
  const receiving = acceptReceiveChannel(`tcp://127.0.0.1:${target.port}`).then(async (ch) => {
    try {
      return await receiveDomain(hv, ch);
    } finally {
      ch.close();
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  const attach = await r.ok(`attach ${r.domid}`);
  assert.equal(attach.data.protocol, true);
  await r.ok("start");
  await r.ok("step");
  await r.ok("step");
  const finish = await r.ok("finish");
  assert.equal(finish.data.outcome, "handed-over");
  assert.equal(finish.data.sourceDestroyed, false);
  const received = await receiving;
  try {
    assert.equal(hv.domain(received.domid).info().paused, false, "the receiver runs its copy");
    assert.equal(stopped(hv.domain(r.domid).info()), true, "the source is kept stopped");
    const cmp = compareMemory(hv, r.domid, received.domid);
    assert.equal(cmp.mismatches, 0, `first mismatch at pfn ${cmp.firstMismatch}`);
    assert.equal(cmp.missing, 0);
    assert.match(await r.fails("unpause"), /handed over to the receiver/);
    const quit = await r.ok("quit");
    assert.match(quit.text, /left stopped \(--keep-source\)/);
    assert.equal(stopped(hv.domain(r.domid).info()), true);
  } finally {
    hv.domain(received.domid).destroy();
  }
});

Deno.test("repl over TCP without --keep-source destroys the source once the receiver runs it", async () => {
  await using r = await testRepl("mem=64M,rate=1000", {
    to: `tcp://127.0.0.1:${freePort()}`,
    noAttach: true,
  });
  const hv = r.backend.hv;
  const port = (r.session.target as { port: number }).port;
  const receiving = acceptReceiveChannel(`tcp://127.0.0.1:${port}`).then(async (ch) => {
    try {
      return await receiveDomain(hv, ch);
    } finally {
      ch.close();
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  await r.ok(`attach ${r.domid}`);
  await r.ok("start");
  assert.equal((await r.ok("finish")).data.sourceDestroyed, true);
  const received = await receiving;
  try {
    assert.throws(() => hv.domain(r.domid).info(), "the source is gone");
    assert.match(await r.fails("inspect 0"), /handed over to the receiver and destroyed/);
    assert.match((await r.ok("status")).text, /handed over and destroyed/);
    assert.equal((await r.ok("quit")).exit, true);
  } finally {
    hv.domain(received.domid).destroy();
  }
});

Deno.test("repl: a receiver that hangs up before its banner fails 'start' and leaves the guest running", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const hangUp = listener.accept().then((c) => c.close());
  try {
    await using r = await testRepl("mem=64M,rate=0", { to: `tcp://127.0.0.1:${port}` });
    await hangUp;
    assert.match(
      await r.fails("start"),
      /start failed: the receiver closed the channel while xenmig waited for its banner; migration aborted/,
    );
    assert.equal(r.backend.hv.domain(r.domid).info().paused, false);
    assert.equal(r.backend.sim!.stats(r.domid).logDirty, false);
    assert.equal((await r.ok("status")).data.phase, "aborted");
  } finally {
    listener.close();
  }
});

/** Not running: paused, or suspended (the simulated guest has PV drivers, so it is asked to suspend). */
function stopped(info: DomainInfo): boolean {
  return info.paused || info.shutdown;
}
