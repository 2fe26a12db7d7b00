/**
 * The REPL's default destination when no `--to` is given: the stream is
 * counted and thrown away, so a session can step through a migration
 * without disk space or a receiver.  Give `--to FILE` to keep the stream.
 *
 * @module
 */

import type { Channel } from "../../lib/engine/transport.ts";

/** What the default destination is called in messages. */
export const DISCARD_DESCRIPTION = "nowhere (discarded; give --to FILE to keep the stream)";

/**
 * A channel that accepts every byte and keeps none.
 *
 * @example
 * ```ts
 * import { discardChannel } from "./discard_channel.ts";
 * const ch = discardChannel();
 * await ch.sink.write(new Uint8Array(4096));
 * await ch.commit();
 * console.assert(ch.bytes === 4096);
 * ```
 */
export function discardChannel(): Channel & { readonly bytes: number } {
  let bytes = 0;
  return {
    sink: {
      write(b) {
        bytes += b.length;
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
    commit: () => Promise.resolve(),
    abort: () => Promise.resolve(),
    describe: DISCARD_DESCRIPTION,
    get bytes() {
      return bytes;
    },
  };
}
