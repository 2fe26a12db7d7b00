/**
 * Options shared by `save` and `migrate`: policy, bandwidth cap, output
 * format, JSON statistics; and how they become engine options.
 *
 * @module
 */

import { isGuestName } from "../lib/xen/guest_xenstore.ts";
import type { SuspendOptions } from "../lib/engine/guest_suspend.ts";
import { policyByName, type PrecopyPolicy } from "../lib/engine/policy.ts";
import type { OptionSpec } from "./options.ts";

/** Policy and link options. */
export const PRECOPY_OPTIONS: Record<string, OptionSpec> = {
  policy: {
    type: "string",
    default: "xen",
    metavar: "xen|downtime[:MS]",
    help:
      "Precopy policy: Xen's (stop below 50 dirty pages or after 5 iterations) or downtime-targeting",
  },
  "max-downtime": {
    type: "string",
    metavar: "MS",
    help:
      "With --policy downtime: abort, leaving the guest running, if the downtime would exceed MS",
  },
  "max-bandwidth": { type: "string", metavar: "MiB/s", help: "Cap the send rate" },
  json: { type: "boolean", default: false, help: "Print the final statistics as JSON on stdout" },
  suspend: {
    type: "string",
    default: "auto",
    choices: ["auto", "xenstore", "pause"],
    metavar: "auto|xenstore|pause",
    help: "How to stop the guest for the final pass: ask it to suspend through xenstore " +
      "control/shutdown (as xl does), or pause it (guests without PV drivers); auto picks",
  },
  "suspend-timeout": {
    type: "string",
    metavar: "S",
    help: "Seconds the guest may take to acknowledge, then to complete, a suspend (default 60)",
  },
};

/** How the guest is to be stopped. */
export function suspendFrom(values: Record<string, unknown>): SuspendOptions {
  const method = values.suspend as SuspendOptions["method"]; // one of its choices
  const t = values["suspend-timeout"] as string | undefined;
  const ms = t === undefined ? undefined : positive(t, "--suspend-timeout") * 1000;
  return { method, ackTimeoutMs: ms, suspendTimeoutMs: ms };
}

/** The policy the options select. */
export function policyFrom(values: Record<string, unknown>): PrecopyPolicy {
  const max = values["max-downtime"] as string | undefined;
  const maxDowntimeMs = max === undefined ? undefined : positive(max, "--max-downtime");
  return policyByName(values.policy as string, { maxDowntimeMs });
}

/** The bandwidth cap in bytes/s, if given. */
export function bandwidthFrom(values: Record<string, unknown>): number | undefined {
  const v = values["max-bandwidth"] as string | undefined;
  return v === undefined ? undefined : positive(v, "--max-bandwidth") * 2 ** 20;
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new RangeError(`${flag} needs a positive number, got '${text}'`);
  return n;
}

/** Options of the restoring commands (`restore`, `receive`). */
export const GUEST_OPTIONS: Record<string, OptionSpec> = {
  name: {
    type: "string",
    metavar: "NAME",
    help: "Domain name (default: the xl config's, else restored-DOMID)",
  },
  type: {
    type: "string",
    choices: ["pvh", "hvm"],
    metavar: "pvh|hvm",
    help: "Guest type when the stream carries no xl config (default pvh)",
  },
};

/** Name and type the options give, for `restoreStream`. */
export function guestFrom(
  values: Record<string, unknown>,
): { name?: string; guestType?: "pvh" | "hvm" } {
  const type = values.type as "pvh" | "hvm" | undefined; // one of its choices
  const name = values.name as string | undefined;
  if (name !== undefined && !isGuestName(name)) {
    throw new RangeError(`--name must be 1-64 printable characters without spaces`);
  }
  return { name, guestType: type };
}
