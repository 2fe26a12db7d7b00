import assert from "node:assert/strict";
import { acceptReceiveChannel, openSendChannel, parseTarget } from "../../lib/engine/transport.ts";
import { StreamReader } from "../../lib/io/stream_reader.ts";

Deno.test("parseTarget: every target form, and bad ones", () => {
  assert.deepEqual(parseTarget("tcp://[::1]:8002"), { kind: "tcp", host: "::1", port: 8002 });
  assert.deepEqual(parseTarget("| ssh h xl migrate-receive"), {
    kind: "command",
    command: "ssh h xl migrate-receive",
  });
  assert.deepEqual(parseTarget("fd:7"), { kind: "fd", fd: 7 });
  assert.deepEqual(parseTarget("dom.save"), { kind: "file", path: "dom.save" });
  assert.throws(() => parseTarget("tcp://host"), /expected tcp:\/\/HOST:PORT/);
  assert.throws(() => parseTarget("tcp://h:70000"), /bad TCP port/);
  assert.throws(() => parseTarget("|"), /needs a command/);
});

Deno.test("file channel: atomic — nothing under the name until commit, nothing left on abort", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ch = await openSendChannel(parseTarget(`${dir}/a.save`));
    await ch.sink.write(new Uint8Array([1, 2, 3]));
    await assert.rejects(Deno.stat(`${dir}/a.save`), Deno.errors.NotFound);
    await ch.commit();
    assert.deepEqual(await Deno.readFile(`${dir}/a.save`), new Uint8Array([1, 2, 3]));
    const bad = await openSendChannel(parseTarget(`${dir}/b.save`));
    await bad.sink.write(new Uint8Array(10));
    await bad.abort();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.save"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tcp channel: bytes arrive; replies flow back", async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const receiving = acceptReceiveChannel(`tcp://127.0.0.1:${port}`);
  await new Promise((r) => setTimeout(r, 50));
  const ch = await openSendChannel(parseTarget(`tcp://127.0.0.1:${port}`));
  const rx = await receiving;
  await ch.sink.write(new TextEncoder().encode("stream"));
  const got = await new StreamReader(rx.source).readExact(6);
  assert.equal(new TextDecoder().decode(got), "stream");
  await rx.replies!.write(new TextEncoder().encode("ok"));
  assert.equal(new TextDecoder().decode(await new StreamReader(ch.replies!).readExact(2)), "ok");
  await ch.commit();
  rx.close();
});

Deno.test("command channel: the stream is the command's stdin; its stdout are the replies", async () => {
  const ch = await openSendChannel(parseTarget("|tr a-z A-Z"));
  await ch.sink.write(new TextEncoder().encode("hello"));
  await ch.sink.close();
  assert.equal(new TextDecoder().decode(await new StreamReader(ch.replies!).readExact(5)), "HELLO");
  await ch.commit();
  const failing = await openSendChannel(parseTarget("|exit 3"));
  await assert.rejects(failing.commit(), /exited with 3/);
});
