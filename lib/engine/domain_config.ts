/**
 * The domain configuration an xl save file carries.  `xl save` writes
 * libxl's own record of the domain (`libxl_domain_config` as JSON, kept by
 * libxl in `/var/lib/xen/userdata-d.<domid>.<uuid>.libxl-json`), and
 * `xl restore` creates the new domain from it.  xenmig reads that same
 * record when it exists, so `xl restore` can read what xenmig saves;
 * elsewhere (the simulator) it writes a minimal config from the domain's
 * info.
 *
 * @module
 */

import { LIBXL_USERDATA_DIR, readDomainConfig } from "../xen/libxl_userdata.ts";
import type { DomainInfo } from "../xen/types.ts";

/** What the toolstack's xenstore entries say about the domain (see `guest_xenstore.ts`). */
export interface KnownGuest {
  /** `/local/domain/N/name`. */
  name?: string;
  /** `/libxl/N/type`. */
  type?: string;
}

/**
 * The JSON config for `info`'s domain: libxl's stored one if present under
 * `dir`, else a minimal one (`c_info.type`, `name`, `uuid`,
 * `b_info.max_vcpus`, `max_memkb`, `target_memkb`), named and typed from
 * `known` when given.
 *
 * @example
 * ```ts
 * import { domainConfig } from "./domain_config.ts";
 * const info = { domid: 3, handle: "00000000-0000-0000-0000-000000000001", hvm: true, maxVcpuId: 1, maxPages: 65536 };
 * const c = JSON.parse(domainConfig(info as never, "/nonexistent", { name: "web", type: "pvh" }));
 * console.assert(c.b_info.max_vcpus === 2 && c.b_info.max_memkb === 262144);
 * console.assert(c.c_info.name === "web" && c.c_info.type === "pvh");
 * ```
 */
export function domainConfig(
  info: DomainInfo,
  dir = LIBXL_USERDATA_DIR,
  known: KnownGuest = {},
): string {
  const stored = readDomainConfig(info.domid, info.handle, dir);
  if (stored !== undefined) return stored;
  const memkb = info.maxPages * 4;
  const type = known.type === "pvh" || known.type === "hvm" ? known.type : info.hvm ? "hvm" : "pv";
  return JSON.stringify(
    {
      c_info: { type, name: known.name ?? `domain-${info.domid}`, uuid: info.handle },
      b_info: { max_vcpus: info.maxVcpuId + 1, max_memkb: memkb, target_memkb: memkb },
    },
    null,
    4,
  );
}
