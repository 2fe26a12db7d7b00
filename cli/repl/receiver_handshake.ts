/**
 * The sender's half of `xl migrate`'s protocol around a stream the REPL
 * writes step by step: wait for the receiver's banner before the stream;
 * after END, wait until it is ready, give it permission to go and read its
 * report.  The same messages and order as `migrateDomain` in
 * `lib/engine/migrate.ts`, whose loop the REPL replaces with its own
 * stepping.
 *
 * @module
 */

import type { ByteSink } from "../../lib/io/byte_sink.ts";
import type { ByteSource } from "../../lib/io/byte_source.ts";
import { StreamReader } from "../../lib/io/stream_reader.ts";
import {
  isMessage,
  MIGRATE_PERMISSION_TO_GO,
  MIGRATE_RECEIVER_BANNER,
  MIGRATE_RECEIVER_READY,
  MIGRATE_REPORT,
} from "../../lib/xl/migrate_protocol.ts";

/**
 * Where the handshake is: `undecided` once permission to go was sent and
 * before the report — the destination may be running, so the source must
 * not be resumed.
 */
export type HandshakeState = "new" | "greeted" | "undecided" | "running" | "failed";

/** The receiver broke the protocol or reported failure. */
export class HandshakeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HandshakeError";
  }
}

/** One migration's handshake with an `xl migrate-receive` / `xenmig receive` peer. */
export class ReceiverHandshake {
  #replies: StreamReader;
  #sink: ByteSink;
  #state: HandshakeState = "new";

  /** Talks to a receiver whose replies come from `replies`; the stream goes to `sink`. */
  constructor(replies: ByteSource, sink: ByteSink) {
    this.#replies = new StreamReader(replies);
    this.#sink = sink;
  }

  /** Where the handshake is. */
  get state(): HandshakeState {
    return this.#state;
  }

  async #expect(message: Uint8Array, what: string): Promise<void> {
    let got: Uint8Array;
    try {
      got = await this.#replies.readExact(message.length, what);
    } catch {
      throw new HandshakeError(
        `the receiver closed the channel while xenmig waited for its ${what}`,
      );
    }
    if (!isMessage(got, message)) {
      const text = new TextDecoder().decode(got).replace(/[^\x20-\x7e]/g, ".");
      throw new HandshakeError(`expected the receiver's ${what}, got '${text}'`);
    }
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
    this.#state = "undecided";
    await this.#sink.write(MIGRATE_PERMISSION_TO_GO);
    await this.#expect(MIGRATE_REPORT, "report");
    const rc = (await this.#replies.readExact(1, "report result"))[0];
    if (rc !== 0) {
      this.#state = "failed";
      throw new HandshakeError(`the receiver failed to resume the domain (result ${rc})`);
    }
    this.#state = "running";
  }
}
