/**
 * What the toolstack side of the engine does around the stream, on the
 * simulator: a save suspends a guest with PV drivers (not just pauses it),
 * a restore gives the new domain fresh ring event channels, grant entries,
 * its name and console in xenstore, and a migration moves the name as xl
 * does (`--migratedaway` at the source, `--incoming` at the receiver).
 *
 * @module
 */

import assert from "node:assert/strict";
import { migrateDomain, receiveDomain } from "../../lib/engine/migrate.ts";
import { restoreStream } from "../../lib/engine/restore.ts";
import { SaveSession } from "../../lib/engine/save_session.ts";
import { memoryChannelPair } from "../../lib/engine/transport.ts";
import { memorySink } from "../../lib/io/byte_sink.ts";
import { bytesSource } from "../../lib/io/byte_source.ts";
import {
  HVM_PARAM_CONSOLE_EVTCHN,
  HVM_PARAM_CONSOLE_PFN,
  HVM_PARAM_STORE_EVTCHN,
  HVM_PARAM_STORE_PFN,
} from "../../lib/xen/constants.ts";
import { guestName, guestNames } from "../../lib/xen/guest_xenstore.ts";
import { isMessage, MIGRATE_PERMISSION_TO_GO } from "../../lib/xl/migrate_protocol.ts";
import { simSession } from "./_support.ts";

Deno.test("save suspends through xenstore; restore reconnects rings and names the copy", async () => {
  using s = await simSession("mem=64M,vcpus=2,rate=20000");
  const xs = s.hv.xenstore;
  const name = guestName(xs, s.domid)!;
  const out = memorySink();
  const save = new SaveSession(s.hv, s.domid, out, { live: true });
  await save.run();
  assert.equal(save.suspendMethod, "xenstore");
  assert.ok(s.hv.domain(s.domid).info().shutdown, "the source is suspended, not paused");
  const stream = out.bytes();

  // The source still holds the name: a restore under it is refused up front.
  const before = s.hv.domains().length;
  await assert.rejects(
    restoreStream(s.hv, bytesSource(stream)),
    new RegExp(`domain ${s.domid} is already called ${name}: .* restore with --name`),
  );
  assert.equal(s.hv.domains().length, before, "no domain was created");

  const r = await restoreStream(s.hv, bytesSource(stream), { name: "copy", unpause: true });
  const d = s.hv.domain(r.domid);
  const path = `/local/domain/${r.domid}`;
  assert.equal(r.name, "copy");
  assert.equal(xs.read(`${path}/name`), "copy");
  assert.equal(xs.read(`/libxl/${r.domid}/type`), "pvh", "type from the xl config");
  assert.ok(xs.isIntroduced(r.domid));
  const storePort = Number(d.hvmParam(HVM_PARAM_STORE_EVTCHN));
  const consolePort = Number(d.hvmParam(HVM_PARAM_CONSOLE_EVTCHN));
  assert.ok(storePort > 0 && consolePort > 0 && storePort !== consolePort);
  assert.equal(xs.read(`${path}/store/port`), String(storePort));
  assert.equal(xs.read(`${path}/console/port`), String(consolePort));
  assert.equal(xs.read(`${path}/store/ring-ref`), String(d.hvmParam(HVM_PARAM_STORE_PFN)));
  assert.equal(xs.read(`${path}/console/ring-ref`), String(d.hvmParam(HVM_PARAM_CONSOLE_PFN)));
  assert.equal(d.info().handle, s.hv.domain(s.domid).info().handle, "uuid from the xl config");

  // The copy has PV drivers too: saving it suspends it the same way.
  const again = new SaveSession(s.hv, r.domid, memorySink(), { live: false });
  await again.run();
  assert.equal(again.suspendMethod, "xenstore");
  again.resumeSource();
  assert.equal(d.info().shutdown, false, "resumed after a checkpoint-style save");
  d.destroy();
  assert.equal(xs.read(path), undefined, "destroy removes its entries");
});

Deno.test("migrate: the source becomes NAME--migratedaway, the receiver NAME; the source goes", async () => {
  using s = await simSession("mem=64M,vcpus=1,rate=20000");
  const xs = s.hv.xenstore;
  const name = guestName(xs, s.domid)!;
  const [channel, rx] = memoryChannelPair();
  // The names at the moment the sender gives permission to go.
  let atGo: string[] = [];
  const tx = {
    ...channel,
    sink: {
      write(b: Uint8Array) {
        if (isMessage(b, MIGRATE_PERMISSION_TO_GO)) atGo = [...guestNames(xs).values()];
        return channel.sink.write(b);
      },
      close: () => channel.sink.close(),
    },
  };
  {
    const receiving = receiveDomain(s.hv, rx);
    await migrateDomain(s.hv, s.domid, tx, { live: true });
    const r = await receiving;
    assert.equal(guestName(xs, r.domid), name);
    assert.equal(xs.read(`/local/domain/${s.domid}`), undefined, "source destroyed, entries gone");
    assert.equal(s.hv.domain(r.domid).info().shutdown, false);
    assert.deepEqual(atGo.sort(), [`${name}--incoming`, `${name}--migratedaway`]);
    s.hv.domain(r.domid).destroy();
  }
});

Deno.test("migrate: NAME--migratedaway already taken is refused before anything is sent", async () => {
  using s = await simSession("mem=64M,vcpus=1,rate=20000");
  const xs = s.hv.xenstore;
  const name = guestName(xs, s.domid)!;
  const squatter = s.sim.createDomain("mem=64M");
  xs.write(`/local/domain/${squatter}/name`, `${name}--migratedaway`);
  const [tx, rx] = memoryChannelPair();
  let sent = 0;
  const counting = {
    ...tx,
    sink: { write: (b: Uint8Array) => (sent += b.length, tx.sink.write(b)), close: tx.sink.close },
  };
  await assert.rejects(
    migrateDomain(s.hv, s.domid, counting, { live: true }),
    new RegExp(`domain ${squatter} is already called ${name}--migratedaway`),
  );
  assert.equal(sent, 0, "no stream byte was sent");
  const info = s.hv.domain(s.domid).info();
  assert.ok(!info.shutdown && !info.paused, "the guest was never stopped");
  assert.equal(guestName(xs, s.domid), name);
  rx.source.close?.();
  s.sim.destroyDomain(squatter);
});
