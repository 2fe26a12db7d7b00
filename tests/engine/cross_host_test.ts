/**
 * Cross-host live migration: two processes, each with its own simulated
 * hypervisor, in two network namespaces joined by a veth pair (addresses in
 * 10.200.0.0/16 exist only on that pair, inside those namespaces); the
 * sender migrates a busy guest to the receiver over TCP.  The receiver's
 * memory must hash the same as the paused source's, page for page, with
 * every stamp intact, and the bytes must have crossed the veth.
 *
 * Where network namespaces cannot be made (not root, no iproute2), the
 * namespace test is ignored with the reason in its name, and the same
 * migration runs between two processes over loopback instead — saying so.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { freePort, ROOT } from "./_support.ts";

const PEER = fileURLToPath(new URL("./_netns_peer.ts", import.meta.url));
const tag = (Deno.pid % 10000).toString(36);
const NS_A = `xenmig-${tag}-a`;
const NS_B = `xenmig-${tag}-b`;
const VETH_A = `xmv${tag}a`;
const VETH_B = `xmv${tag}b`;
/** A /30 on the veth pair only; the octet varies so concurrent runs differ. */
const NET = `10.200.${Deno.pid % 250}`;
const ADDR_A = `${NET}.1`;
const ADDR_B = `${NET}.2`;

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(o.success ? o.stdout : o.stderr).trim();
    return { ok: o.success, out: text };
  } catch (e) {
    return { ok: false, out: e instanceof Error ? e.message : String(e) };
  }
}

async function teardown(): Promise<void> {
  await run("ip", ["netns", "del", NS_A]);
  await run("ip", ["netns", "del", NS_B]); // the veth pair goes with them
}

/** Creates both namespaces and the veth between them; returns why not, if it cannot. */
async function setup(): Promise<string | undefined> {
  const steps: string[][] = [
    ["netns", "add", NS_A],
    ["netns", "add", NS_B],
    ["link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B],
    ["link", "set", VETH_A, "netns", NS_A],
    ["link", "set", VETH_B, "netns", NS_B],
    ["-n", NS_A, "addr", "add", `${ADDR_A}/30`, "dev", VETH_A],
    ["-n", NS_B, "addr", "add", `${ADDR_B}/30`, "dev", VETH_B],
    ["-n", NS_A, "link", "set", "lo", "up"],
    ["-n", NS_B, "link", "set", "lo", "up"],
    ["-n", NS_A, "link", "set", VETH_A, "up"],
    ["-n", NS_B, "link", "set", VETH_B, "up"],
  ];
  for (const step of steps) {
    const r = await run("ip", step);
    if (!r.ok) {
      await teardown();
      await run("ip", ["link", "del", VETH_A]);
      return `'ip ${step.join(" ")}' failed: ${r.out.split("\n")[0]}`;
    }
  }
  return undefined;
}

// XENMIG_TEST_NO_NETNS=1 exercises the fallback on a machine that has netns.
const noNetns = Deno.env.get("XENMIG_TEST_NO_NETNS")
  ? "XENMIG_TEST_NO_NETNS is set"
  : await setup();
globalThis.addEventListener("unload", () => {
  if (!noNetns) {
    new Deno.Command("ip", { args: ["netns", "del", NS_A], stderr: "null" }).outputSync();
    new Deno.Command("ip", { args: ["netns", "del", NS_B], stderr: "null" }).outputSync();
  }
});
if (noNetns) {
  console.log(`cross-host: network namespaces unavailable (${noNetns}); FALLING BACK TO LOOPBACK`);
}

/** Runs a peer (in `ns`, if given); resolves to its JSON line. */
async function peer(
  ns: string | undefined,
  role: string,
  addr: string,
  port: number,
): Promise<Record<string, unknown>> {
  const deno = [Deno.execPath(), "run", "-A", PEER, role, addr, String(port)];
  const [cmd, ...args] = ns ? ["ip", "netns", "exec", ns, ...deno] : deno;
  const o = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(o.stderr);
  assert.ok(o.success, `${role} failed (${o.code}):\n${stderr}`);
  return JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").pop()!);
}

/** Bytes a veth sent, from `ip -s link` in its namespace. */
async function txBytes(ns: string, dev: string): Promise<number> {
  const r = await run("ip", ["-n", ns, "-s", "-j", "link", "show", dev]);
  assert.ok(r.ok, r.out);
  return JSON.parse(r.out)[0].stats64.tx.bytes;
}

function assertSameMemory(src: Record<string, unknown>, dst: Record<string, unknown>): void {
  assert.equal(src.stopped, true, "the source is kept suspended after stop-and-copy");
  assert.equal(dst.running, true, "the destination runs");
  assert.equal(src.strictVerify, 0, "the stream fails our strict verifier");
  assert.equal(src.bad, 0);
  assert.equal(dst.bad, 0, "broken page stamps at the destination");
  assert.ok((src.pages as number) > 16000);
  assert.equal(dst.pages, src.pages);
  assert.equal(dst.sha256, src.sha256, "destination memory differs from the paused source");
  assert.ok((src.iterations as number) >= 1 && (src.totalPages as number) > 16000);
}

Deno.test({
  name:
    `cross-host live migration between two network namespaces over a veth (${ADDR_A} -> ${ADDR_B})${
      noNetns ? ` — IGNORED: ${noNetns}` : ""
    }`,
  ignore: noNetns !== undefined,
  async fn() {
    const port = 8002;
    const before = await txBytes(NS_A, VETH_A);
    const receiving = peer(NS_B, "receive", ADDR_B, port);
    const src = await peer(NS_A, "send", ADDR_B, port);
    const dst = await receiving;
    assertSameMemory(src, dst);
    assert.equal(dst.from, `tcp connection from ${ADDR_A}`);
    const sent = (await txBytes(NS_A, VETH_A)) - before;
    assert.ok(sent >= (src.bytes as number), `only ${sent} bytes left through ${VETH_A}`);
  },
});

if (noNetns) {
  Deno.test(`cross-process live migration over loopback (FALLBACK: ${noNetns})`, async () => {
    const port = freePort();
    const receiving = peer(undefined, "receive", "127.0.0.1", port);
    const src = await peer(undefined, "send", "127.0.0.1", port);
    assertSameMemory(src, await receiving);
  });
}
