/**
 * The facts each scenario brings back from dom0, typed for the host's
 * assertions.  The dom0 side collects; the host judges.
 *
 * @module
 */

import type { CommandRecord } from "./protocol.ts";
import type { StreamStats } from "./stream_stats.ts";
import type { HeartbeatGap, IntegrityVerdict } from "./workload_log.ts";
import type { LibraryDomainRow, XlListRow } from "./xl_list.ts";

/** What a guest did after an operation (see `GuestPool.after`). */
export interface GuestOutcome {
  /** The workload's boot id. */
  id: string;
  /** Integrity over the passes after the operation. */
  integrity: IntegrityVerdict;
  /** Largest heartbeat gap across the operation: guest-visible downtime. */
  gap: HeartbeatGap;
  /** Whether the workload went on running after the operation. */
  resumed: boolean;
  /** The domains that may hold the guest, as `xl list` showed them at the verdict. */
  domains: XlListRow[];
  /** Mailbox reads of console-less domains: domid → what the page showed. */
  mailbox: Record<string, string>;
}

/** An error thrown by the bindings. */
export interface ErrorFacts {
  /** Message. */
  message: string;
  /** Errno, if a XenError. */
  errno?: number;
  /** Symbolic errno. */
  code?: string;
  /** The failing call. */
  call?: string;
}

/** A CLI check that could not run because the command does not exist yet. */
export interface NotImplementedFacts {
  /** E.g. `"xenmig xen"`. */
  notImplemented: string;
}

/** `ffi-list`: xl's list and the bindings' list, sampled back to back. */
export interface FfiListFacts {
  /** `xl list` before. */
  xlBefore: XlListRow[];
  /** `Hypervisor.domains()`. */
  library: LibraryDomainRow[];
  /** `xl list` after. */
  xlAfter: XlListRow[];
  /** `xenmig xen list`, and `xl list` right before and after it. */
  cli:
    | { list: CommandRecord; rows: XlListRow[]; xlBefore: XlListRow[]; xlAfter: XlListRow[] }
    | NotImplementedFacts;
}

/** `ffi-info-pause`: info, pause and unpause of a running PVH guest. */
export interface FfiPauseFacts {
  /** The guest's domid. */
  domid: number;
  /** Guest memory as configured, MiB. */
  memoryMiB: number;
  /** `domain.info()` before. */
  infoBefore: LibraryDomainRow & { hvm: boolean; maxPages: number };
  /** `domain.info()` right after `pause()`. */
  infoPaused: LibraryDomainRow;
  /** The domain's `xl list` state while paused. */
  xlStateWhilePaused: string;
  /** Heartbeats logged between 0.5 s and 1.5 s into the pause. */
  heartbeatsWhilePaused: number;
  /** How long it was paused, seconds. */
  pauseSeconds: number;
  /** `domain.info()` after `unpause()`. */
  infoAfter: LibraryDomainRow;
  /** The guest afterwards. */
  guest: GuestOutcome;
  /** The same with `xenmig xen pause / info --json / unpause`. */
  cli: {
    pause: CommandRecord;
    xlStateWhilePaused: string;
    info: CommandRecord;
    unpause: CommandRecord;
    xlStateAfter: string;
    guest: GuestOutcome;
  } | NotImplementedFacts;
}

/** `ffi-logdirty-pvh`: log-dirty rounds on a running PVH guest. */
export interface FfiLogDirtyFacts {
  /** The guest's domid. */
  domid: number;
  /** Bitmap size in pages (max gpfn + 1). */
  pages: number;
  /** Pages of the workload's dirty region. */
  workloadDirtyPages: number;
  /** Seconds between the two CLEANs. */
  roundSeconds: number;
  /** Stats of the first CLEAN (everything since enable). */
  firstClean: { dirtyCount: number; faultCount: number };
  /** Stats of the second CLEAN. */
  clean: { dirtyCount: number; faultCount: number };
  /** Bits set in the second CLEAN's bitmap. */
  bitsSet: number;
  /** Sampled pfns of the workload's dirty region, and how many were set. */
  dirtySamples: { pfns: number[]; set: number };
  /** Sampled pfns of the static region, and how many were set. */
  staticSamples: { pfns: number[]; set: number };
  /** An error from enable/clean, if any. */
  error?: ErrorFacts;
  /** An error from OFF, if any. */
  offError?: ErrorFacts;
  /** Paused after the scenario? */
  pausedAfter: boolean;
  /** The guest afterwards. */
  guest: GuestOutcome;
  /** `xenmig xen logdirty DOM --json` and the guest's state after it. */
  cli: { logdirty: CommandRecord; xlStateAfter: string } | NotImplementedFacts;
}

/** `ffi-logdirty-pv`: log-dirty on a PV guest (Debian's Xen has no shadow paging). */
export interface FfiLogDirtyPvFacts {
  /** The guest's domid. */
  domid: number;
  /** The error `logDirty.enable()` threw (undefined: it succeeded). */
  enableError?: ErrorFacts;
  /** Paused after the attempt? */
  pausedAfter: boolean;
  /** `xl list` state after. */
  xlState: string;
  /** The guest afterwards. */
  guest: GuestOutcome;
  /** `xenmig xen logdirty DOM` and the guest's state after it. */
  cli: { logdirty: CommandRecord; xlStateAfter: string } | NotImplementedFacts;
}

/** `pv-live-save`: `xenmig save --live` of a PV guest. */
export interface PvLiveSaveFacts {
  /** The command. */
  save: CommandRecord;
  /** The domain still exists afterwards. */
  domainExists: boolean;
  /** `xl list` state afterwards. */
  xlState: string;
  /** The guest afterwards. */
  guest: GuestOutcome;
}

/** `xenmig verify` of a stream, plain and strict (run on the host). */
export interface VerifyFacts {
  /** `xenmig verify -f xl -i FILE`. */
  plain: CommandRecord;
  /** `xenmig verify -f xl --strict --json -i FILE`. */
  strict: CommandRecord;
  /** The strict run's JSON summary (undefined if it printed none). */
  summary?: {
    valid?: boolean;
    domainType?: string;
    bytes?: number;
    pagesWithData?: number;
    uniquePfns?: number;
    warnings?: { message: string }[];
    [key: string]: unknown;
  };
}

/** `xl-save-verify`: `xl save` of a guest, exported for xenmig verify, maybe `xl restore`d. */
export interface XlSaveVerifyFacts {
  /** `pv` or `pvh`. */
  type: string;
  /** `xl save`. */
  save: CommandRecord;
  /** Save file size. */
  bytes: number;
  /** The save file, relative to the share. */
  exported: string;
  /** `xl restore` (lab housekeeping, and a sanity check of the lab), if asked for. */
  restore?: CommandRecord;
  /** The guest afterwards, if restored. */
  guest?: GuestOutcome;
}

/** `xenmig-restore`: `xl save`, then `xenmig restore --unpause`. */
export interface XenmigRestoreFacts {
  /** `xl save`. */
  save: CommandRecord;
  /** `xenmig restore`. */
  restore: CommandRecord;
  /** Domains that appeared. */
  newDomains: XlListRow[];
  /** The guest afterwards. */
  guest: GuestOutcome;
}

/** `xenmig-save`: `xenmig save [--live]`, then `xl restore`. */
export interface XenmigSaveFacts {
  /** Live? */
  live: boolean;
  /** `xenmig save`. */
  save: CommandRecord;
  /** Save file size. */
  bytes: number;
  /** The source domain's `xl list` state after the save ("" if gone). */
  sourceStateAfterSave: string;
  /** The save file, relative to the share (for the host's xenmig verify). */
  exported: string;
  /** `xl restore` of the file. */
  restore: CommandRecord;
  /** The guest afterwards. */
  guest: GuestOutcome;
}

/** A migration between a sender and a receiver in dom0. */
export interface MigrationFacts {
  /** Which sender → receiver. */
  path: string;
  /** The sender's command. */
  sender: CommandRecord;
  /** The receiver's command. */
  receiver: CommandRecord;
  /** The source domain still exists afterwards. */
  sourceExists: boolean;
  /** Domains that appeared. */
  newDomains: XlListRow[];
  /** Stream statistics, when the stream was captured. */
  stream?: StreamStats;
  /** Bytes the transport carried (streamtap), when counted. */
  transportBytes?: number;
  /** Precopy iterations xl reported (`xl -vvv`), when it did. */
  xlIterations?: number;
  /** What a xenmig sender reported (`--json`). */
  senderReport?: {
    /** Bytes sent. */
    totalBytes?: number;
    /** Precopy iterations (the stop-and-copy not counted). */
    iterations?: number;
    /** Its stop-and-copy time, ms. */
    downtimeMs?: number;
    /** Of which: the guest's suspend, the final pages, the tail records, ms. */
    downtimeParts?: { suspendMs: number; pagesMs: number; tailMs: number };
  };
  /** The guest afterwards. */
  guest: GuestOutcome;
}

/** `xl-baseline`: `xl save`/`xl restore` and `xl migrate` of one PVH guest. */
export interface XlBaselineFacts {
  /** `xl save`. */
  save: CommandRecord;
  /** Save file size. */
  saveBytes: number;
  /** `xl restore`. */
  restore: CommandRecord;
  /** The guest after save + restore. */
  afterRestore: GuestOutcome;
  /** `xl migrate` to `xl migrate-receive`, captured. */
  migration: MigrationFacts;
}

/** `xenmig-save-timed`: `xenmig save` timed like `xl save` in the baseline (no restore). */
export interface XenmigSaveTimedFacts {
  /** `xenmig save`. */
  save: CommandRecord;
  /** Save file size. */
  saveBytes: number;
}
