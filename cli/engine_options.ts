/**
 * Options shared by `save` and `migrate`: policy, bandwidth cap, output
 * format, JSON statistics; and how they become engine options.
 *
 * @module
 */

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
};

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
