/**
 * The messages of `xl migrate`'s protocol (`tools/xl/xl_migrate.c`).  The
 * receiver greets with a banner; the sender sends the xl header and the
 * stream; the receiver says it is ready; the sender gives permission to go;
 * the receiver reports the outcome.  All but the banner are sent with their
 * terminating NUL.
 *
 * @module
 */

const enc = (s: string) => new TextEncoder().encode(s);

/** Receiver → sender, before the stream (sent without its NUL). */
export const MIGRATE_RECEIVER_BANNER: Uint8Array = enc(
  "xl migration receiver ready, send binary domain data.\n",
);
/** Receiver → sender, after the stream. */
export const MIGRATE_RECEIVER_READY: Uint8Array = enc("domain received, ready to unpause\0");
/** Sender → receiver, after the stream: the last bytes of what `xl migrate` sends. */
export const MIGRATE_PERMISSION_TO_GO: Uint8Array = enc(
  "domain is yours, you are cleared to unpause\0",
);
/** Receiver → sender, followed by one result byte. */
export const MIGRATE_REPORT: Uint8Array = enc("my copy unpause results are as follows\0");

/**
 * Whether `bytes` is exactly `message`.
 *
 * @example
 * ```ts
 * import { isMessage, MIGRATE_PERMISSION_TO_GO } from "./migrate_protocol.ts";
 * console.assert(isMessage(MIGRATE_PERMISSION_TO_GO.slice(), MIGRATE_PERMISSION_TO_GO));
 * ```
 */
export function isMessage(bytes: Uint8Array, message: Uint8Array): boolean {
  return bytes.length === message.length && bytes.every((b, i) => b === message[i]);
}
