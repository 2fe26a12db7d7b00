/**
 * One end of the cross-host migration test, run as its own process (in its
 * own network namespace when the machine allows): `receive ADDR PORT`
 * accepts one migration and runs the domain; `send ADDR PORT` live-migrates
 * a busy simulated guest there, keeping the source paused.  Each prints one
 * JSON line with a SHA-256 over every page with data (pfn and contents, in
 * pfn order) so the test can compare the two memories page for page, and
 * the count of pages whose stamps are broken.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dataPfnBatches } from "../../lib/engine/data_pfns.ts";
import { migrateDomain, receiveDomain } from "../../lib/engine/migrate.ts";
import { SHUTDOWN_suspend } from "../../lib/xen/constants.ts";
import type { DomainInfo } from "../../lib/xen/types.ts";
import { policyByName } from "../../lib/engine/policy.ts";
import { acceptReceiveChannel, openSendChannel } from "../../lib/engine/transport.ts";
import type { ByteSink } from "../../lib/io/byte_sink.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { verifyStream } from "../../lib/verify/verify_stream.ts";
import { PROT_READ } from "../../lib/xen/constants.ts";
import type { Hypervisor } from "../../lib/xen/hypervisor.ts";
import { openHypervisor } from "../../lib/xen/open.ts";

/** SHA-256 over (pfn, page) of every pfn with data, and how many pages there were. */
function memoryDigest(hv: Hypervisor, domid: number): { pages: number; sha256: string } {
  const dom = hv.domain(domid);
  const hash = createHash("sha256");
  const pfnBytes = new DataView(new ArrayBuffer(8));
  let pages = 0;
  for (const pfns of dataPfnBatches(dom)) {
    const m = hv.foreignMemory.map(domid, pfns, PROT_READ);
    try {
      for (let i = 0; i < pfns.length; i++) {
        pfnBytes.setBigUint64(0, BigInt(pfns[i]), true);
        hash.update(new Uint8Array(pfnBytes.buffer));
        hash.update(m.page(i));
      }
    } finally {
      m.release();
    }
    pages += pfns.length;
  }
  return { pages, sha256: hash.digest("hex") };
}

const [role, addr, portText] = Deno.args;
const port = Number(portText);

if (role === "receive") {
  using s = await openHypervisor({ sim: "mem=64M" });
  const channel = await acceptReceiveChannel(`tcp://${addr}:${port}`);
  const r = await receiveDomain(s.hv, channel);
  channel.close();
  const info = s.hv.domain(r.domid).info();
  const running = !info.paused && !info.shutdown;
  console.log(JSON.stringify({
    role,
    domid: r.domid,
    from: channel.describe,
    running,
    bad: s.sim!.verifyDomain(r.domid).bad,
    ...memoryDigest(s.hv, r.domid),
  }));
} else if (role === "send") {
  using s = await openHypervisor({ sim: "mem=64M,vcpus=2,rate=30000,pattern=hot:5%" });
  let channel;
  for (let tries = 0;; tries++) {
    try {
      channel = await openSendChannel({ kind: "tcp", host: addr, port });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.ConnectionRefused) || tries > 400) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const parts: Uint8Array[] = [];
  const tee: ByteSink = {
    write(b) {
      parts.push(b.slice());
      return channel.sink.write(b);
    },
    close: () => channel.sink.close(),
  };
  const stats = await migrateDomain(s.hv, s.domid!, { ...channel, sink: tee }, {
    policy: policyByName("downtime"),
    maxBandwidth: 256 * 2 ** 20,
    keepSource: true,
  });
  const wire = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) wire.set(p, (at += p.length) - p.length);
  const verdict = await verifyStream(bytesSource(wire), { format: "xl", strict: true });
  console.log(JSON.stringify({
    role,
    domid: s.domid,
    // Suspended through xenstore (the guest has PV drivers), so not running.
    stopped: stoppedForSave(s.hv.domain(s.domid!).info()),
    iterations: stats.iterations.length,
    totalPages: stats.totalPages,
    bytes: wire.length,
    strictVerify: verdict.exitCode,
    bad: s.sim!.verifyDomain(s.domid!).bad,
    ...memoryDigest(s.hv, s.domid!),
  }));
} else {
  console.error("usage: _netns_peer.ts receive|send ADDR PORT");
  Deno.exit(2);
}

function stoppedForSave(info: DomainInfo): boolean {
  return info.paused || (info.shutdown && info.shutdownCode === SHUTDOWN_suspend);
}
