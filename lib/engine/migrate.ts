/**
 * Live migration over a channel, speaking `xl migrate`'s protocol so either
 * end can be real xl: the receiver greets with a banner, the sender sends
 * the xl save stream, the receiver says it is ready, the sender gives
 * permission to go, the receiver unpauses and reports.  The source domain is
 * destroyed only after the receiver reports success; on any failure before
 * that it is left running (log-dirty off, unpaused).
 *
 * @module
 */

import type { ByteSink } from "../io/byte_sink.ts";
import { RateLimitedSink } from "../io/rate_limited_sink.ts";
import {
  MIGRATE_PERMISSION_TO_GO,
  MIGRATE_RECEIVER_BANNER,
  MIGRATE_RECEIVER_READY,
  MIGRATE_REPORT,
} from "../xl/migrate_protocol.ts";
import { expectMessage, MigrateProtocolError, SenderHandshake, SourceRename } from "./handshake.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";
import { renameGuest } from "../xen/guest_xenstore.ts";
import { type RestoreOptions, type RestoreResult, restoreStream } from "./restore.ts";
import { SaveAbortedError, type SaveOptions, SaveSession, type SaveStats } from "./save_session.ts";
import type { Channel, ReceiveChannel } from "./transport.ts";

/** Options for {@linkcode migrateDomain}. */
export interface MigrateOptions extends SaveOptions {
  /** Speak xl's migrate protocol (default: when the channel is two-way). */
  protocol?: boolean;
  /** Cap on the send rate, bytes/s. */
  maxBandwidth?: number;
  /** Leave the source paused instead of destroying it (tests compare memory). */
  keepSource?: boolean;
  /** Called with the save session once created (e.g. to report its phase on interrupt). */
  onSession?: (save: SaveSession) => void;
}

/** What a migration measured. */
export interface MigrateStats extends SaveStats {
  /** From pausing the source to the destination running, ms (protocol mode). */
  downtimeMs?: number;
  /** Whether the xl protocol was used. */
  protocol: boolean;
}

/**
 * Migrates domain `domid` over `channel`.
 *
 * @example
 * ```ts ignore
 * import { migrateDomain, openSendChannel, parseTarget } from "../../mod.ts";
 * const stats = await migrateDomain(hv, 7, await openSendChannel(parseTarget("tcp://dst:8002")), { live: true });
 * ```
 */
export async function migrateDomain(
  hv: Hypervisor,
  domid: number,
  channel: Channel,
  options: MigrateOptions = {},
): Promise<MigrateStats> {
  const protocol = options.protocol ?? channel.replies !== undefined;
  let sink: ByteSink = channel.sink;
  if (options.maxBandwidth) sink = new RateLimitedSink(sink, options.maxBandwidth);
  const handshake = protocol && channel.replies
    ? new SenderHandshake(channel.replies, sink, SourceRename.of(hv, domid))
    : undefined;
  const save = new SaveSession(hv, domid, sink, { live: true, ...options });
  options.onSession?.(save);
  // Between permission to go and the receiver's report the destination may
  // be running ("undecided"), and after a good report it is ("running"):
  // then the source must never be resumed (xl's "failed badly").
  const handedOver = () => handshake?.state === "undecided" || handshake?.state === "running";
  // Interrupted before permission to go (e.g. waiting for the receiver's
  // banner or ready message): resume the source now, and stop waiting for
  // the receiver — its reply may never come.
  const onAbort = () => {
    if (handedOver()) return;
    save.abort(String(options.signal?.reason ?? "interrupted"));
    handshake?.close();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await handshake?.greet();
    await save.run();
    let downtimeMs: number | undefined;
    if (handshake) {
      await handshake.handOver();
      downtimeMs = performance.now() - (save.pausedAt ?? performance.now());
    }
    await channel.commit();
    if (!options.keepSource) save.domain.destroy();
    return { ...save.stats, downtimeMs, protocol };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (handedOver()) {
      const destinationRuns = handshake?.state === "running";
      // Never two running copies: log-dirty is already off (stop-and-copy
      // ended) and the source stays paused.
      await channel.abort();
      throw new MigrateProtocolError(
        destinationRuns
          ? `${message}, after the receiver reported the domain running; domain ${domid} ` +
            `is left stopped at the source`
          : `${message}; the receiver was given permission to go but did not report, so ` +
            `domain ${domid} is left stopped at the source: check the destination before ` +
            `resuming either copy`,
      );
    }
    save.abort(message);
    await channel.abort();
    // Interrupted while waiting for the receiver: say so, not "it closed".
    if (options.signal?.aborted && !(e instanceof SaveAbortedError)) {
      throw new SaveAbortedError(
        save.abortedIn ?? "new",
        String(options.signal.reason ?? "interrupted"),
      );
    }
    throw e;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** Suffix of a received domain's name until the sender gives permission to go (xl's). */
export const INCOMING_SUFFIX = "--incoming";

/** Options for {@linkcode receiveDomain}. */
export type ReceiveOptions = Omit<RestoreOptions, "unpause">;

/**
 * The receiving end: greets, restores the stream into a new domain, waits
 * for permission to go, unpauses it and reports.  Without a reply path (a
 * file), it just restores and unpauses.
 */
export async function receiveDomain(
  hv: Hypervisor,
  channel: ReceiveChannel,
  options: ReceiveOptions = {},
): Promise<ReceiveResult> {
  const replies: ByteSink | undefined = channel.replies;
  if (replies) await replies.write(MIGRATE_RECEIVER_BANNER);
  // What resuming the guest after END calls is bound now (if the caller has
  // not done so while waiting for the sender), not in its downtime.
  hv.bindAll();
  const result = await restoreStream(hv, channel.source, {
    ...options,
    format: "xl",
    unpause: !replies,
    // Until the sender lets go, the name stays the source's (xl's suffix).
    nameSuffix: replies ? INCOMING_SUFFIX : options.nameSuffix,
  });
  if (!replies) return result;
  await replies.write(MIGRATE_RECEIVER_READY);
  const ready = performance.now();
  let go: number;
  try {
    await expectMessage(result.reader, MIGRATE_PERMISSION_TO_GO, "permission to go", "sender");
    go = performance.now();
    if (result.introduced) renameGuest(hv.xenstore, result.domid, result.name);
  } catch (e) {
    hv.domain(result.domid).destroy();
    throw e;
  }
  hv.domain(result.domid).unpause();
  const running = performance.now();
  await replies.write(new Uint8Array([...MIGRATE_REPORT, 0]));
  return { ...result, handover: { waitMs: go - ready, resumeMs: running - go } };
}

/** What {@linkcode receiveDomain} did. */
export interface ReceiveResult extends RestoreResult {
  /** With the xl protocol: the hand-over's timings. */
  handover?: {
    /** From "ready" to the sender's permission to go, ms (the sender's share). */
    waitMs: number;
    /** From permission to go to the domain unpaused (rename included), ms. */
    resumeMs: number;
  };
}
