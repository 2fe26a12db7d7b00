/**
 * The sender's half of `xl migrate`'s protocol (`tools/xl/xl_migrate.c`):
 * wait for the receiver's banner before the stream; after END, wait until
 * it is ready, give it permission to go and read its report.  Used by
 * `migrateDomain` around a whole save and by the REPL around a save it
 * steps by hand.
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import type { ByteSource } from "../io/byte_source.ts";
import { StreamReader } from "../io/stream_reader.ts";
import { assertNameFree, guestName, renameGuest } from "../xen/guest_xenstore.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";
import {
  isMessage,
  MIGRATE_PERMISSION_TO_GO,
  MIGRATE_RECEIVER_BANNER,
  MIGRATE_RECEIVER_READY,
  MIGRATE_REPORT,
} from "../xl/migrate_protocol.ts";

/**
 * Where the handshake is: `undecided` once permission to go was sent and
 * before the report — the destination may be running, so the source must
 * not be resumed.
 */
export type HandshakeState = "new" | "greeted" | "undecided" | "running" | "failed";

/** The peer broke the protocol or reported failure. */
export class MigrateProtocolError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "MigrateProtocolError";
  }
}

/** Reads exactly `message` from `r` (sent by `peer`), or says what came instead. */
export async function expectMessage(
  r: StreamReader,
  message: Uint8Array,
  what: string,
  peer: "receiver" | "sender" = "receiver",
): Promise<void> {
  let got: Uint8Array;
  try {
    got = await r.readExact(message.length, what);
  } catch {
    throw new MigrateProtocolError(
      `the ${peer} closed the channel while xenmig waited for its ${what}`,
    );
  }
  if (!isMessage(got, message)) {
    const text = new TextDecoder().decode(got).replace(/[^\x20-\x7e]/g, ".");
    throw new MigrateProtocolError(`expected the ${peer}'s ${what}, got '${text}'`);
  }
}

/** Suffix of the source's name once the receiver may run the domain (xl's). */
export const MIGRATED_AWAY_SUFFIX = "--migratedaway";

/**
 * Renames the source domain out of the way before permission to go (the
 * receiver takes its name then, and xl's receiver refuses a duplicate), and
 * back if the receiver reports failure, as `xl migrate` does.
 */
export class SourceRename {
  #hv: Hypervisor;
  #domid: number;
  #name: string;
  #renamed = false;

  private constructor(hv: Hypervisor, domid: number, name: string) {
    this.#hv = hv;
    this.#domid = domid;
    this.#name = name;
  }

  /**
   * For a domain with a name in xenstore; `undefined` when it has none (or
   * no xenstore).  Throws if another domain already has the name it will
   * take: better now than after the whole transfer, as xl would.
   */
  static of(hv: Hypervisor, domid: number): SourceRename | undefined {
    let name;
    try {
      name = guestName(hv.xenstore, domid);
    } catch {
      return undefined;
    }
    if (!name) return undefined;
    assertNameFree(hv.xenstore, name + MIGRATED_AWAY_SUFFIX, domid);
    return new SourceRename(hv, domid, name);
  }

  /** `NAME` → `NAME--migratedaway` (in the downtime: the name was checked when this was made). */
  away(): void {
    renameGuest(this.#hv.xenstore, this.#domid, this.#name + MIGRATED_AWAY_SUFFIX, {
      nameChecked: true,
    });
    this.#renamed = true;
  }

  /** Back to `NAME`, if renamed. */
  back(): void {
    if (!this.#renamed) return;
    renameGuest(this.#hv.xenstore, this.#domid, this.#name);
    this.#renamed = false;
  }
}

/** One migration's handshake with an `xl migrate-receive` / `xenmig receive` peer. */
export class SenderHandshake {
  #replies: StreamReader;
  #sink: ByteSink;
  #state: HandshakeState = "new";
  #rename?: SourceRename;

  /**
   * Talks to a receiver whose replies come from `replies`; the stream goes
   * to `sink`.  `rename` (see {@linkcode SourceRename.of}) moves the
   * source's name out of the receiver's way at hand-over.
   */
  constructor(replies: ByteSource, sink: ByteSink, rename?: SourceRename) {
    this.#replies = new StreamReader(replies);
    this.#sink = sink;
    this.#rename = rename;
  }

  /** Where the handshake is. */
  get state(): HandshakeState {
    return this.#state;
  }

  #expect(message: Uint8Array, what: string): Promise<void> {
    return expectMessage(this.#replies, message, what);
  }

  /** Stops waiting for the receiver (its reply may never come). */
  close(): void {
    this.#replies.close();
  }

  /** Waits for the banner; call before the first byte of the stream. */
  async greet(): Promise<void> {
    try {
      await this.#expect(MIGRATE_RECEIVER_BANNER, "banner");
      this.#state = "greeted";
    } catch (e) {
      this.#state = "failed";
      throw e;
    }
  }

  /**
   * After the stream's END: waits for "ready", gives permission to go, and
   * reads the report.  On failure {@linkcode state} says whether the
   * destination may be running (`undecided`).
   */
  async handOver(): Promise<void> {
    await this.#expect(MIGRATE_RECEIVER_READY, "ready message").catch((e) => {
      this.#state = "failed";
      throw e;
    });
    try {
      this.#rename?.away();
    } catch (e) {
      this.#state = "failed";
      throw e;
    }
    this.#state = "undecided";
    await this.#sink.write(MIGRATE_PERMISSION_TO_GO);
    await this.#expect(MIGRATE_REPORT, "report");
    const rc = (await this.#replies.readExact(1, "report result"))[0];
    if (rc !== 0) {
      // The receiver gave up and destroyed its copy: the source may run again.
      this.#state = "failed";
      this.#rename?.back();
      throw new MigrateProtocolError(`the receiver failed to resume the domain (result ${rc})`);
    }
    this.#state = "running";
  }
}
