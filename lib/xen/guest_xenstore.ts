/**
 * A guest's entries in xenstore, laid out as libxl 4.17 writes them
 * (`libxl__domain_make`, `libxl__build_post`, the console device), so that
 * `xl list`, `xl console`, xenconsoled, `xl save`/`migrate` and the guest's
 * own PV drivers find a domain xenmig restored exactly where they look:
 *
 * - `/local/domain/N`: `name`, `domid`, `vm`, `memory/{static-max,target}`,
 *   `cpu/I/availability`, `control/shutdown` and the `control/feature-*`
 *   nodes (guest-writable), `store/{port,ring-ref}`, `console/...`
 *   (`type = xenconsoled`, ring gfn and port);
 * - `/vm/<uuid>/{uuid,name}`; `/libxl/N/type`;
 * - the console backend `/local/domain/0/backend/console/N/0`.
 *
 * @module
 */

import { XenError } from "./errors.ts";
import { type XenStore, XS_PERM, type XsPermission } from "./xenstore.ts";

/** A guest's kind, as `/libxl/N/type` names it. */
export type GuestType = "pvh" | "hvm" | "pv";

/** A guest's xenstore and console rings, those it has. */
export interface GuestRings {
  /** The xenstore ring: gfn and event channel port (of the guest). */
  store?: RingEndpoint;
  /** The PV console ring, served by xenconsoled. */
  console?: RingEndpoint;
}

/** What the entries say about a guest. */
export interface GuestEntries extends GuestRings {
  /** Domain name (`xl list`'s first column). */
  name: string;
  /** Domain handle as a UUID string. */
  uuid: string;
  /** Guest type. */
  type: GuestType;
  /** Memory target and static maximum, KiB. */
  memKib: number;
  /** Vcpus, all online. */
  vcpus: number;
}

/** A shared ring page and the guest's event channel for it. */
export interface RingEndpoint {
  /** Guest frame of the ring page. */
  gfn: number;
  /** Event channel port in the guest, bound by the backend in dom0. */
  port: number;
}

/** libxl's console ring size limit, bytes. */
const CONSOLE_LIMIT = 1048576;
/** Nodes under `control/` the guest may write (its PV drivers answer there). */
const CONTROL_NODES = [
  "shutdown",
  "feature-poweroff",
  "feature-reboot",
  "feature-suspend",
  "sysrq",
];
/** Guest-writable directories libxl creates. */
const GUEST_DIRS = ["data", "drivers", "feature", "attr", "error", "device/suspend/event-channel"];

/**
 * Writes the guest's entries (replacing any stale ones under its domid) and,
 * when `entries.store` is given, introduces the domain to xenstored — last,
 * as libxl does, because xenstored tells watchers (xenconsoled) right away.
 *
 * @example A named guest (simulator)
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * import { guestName, writeGuestEntries } from "./guest_xenstore.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const dom = s.hv.createDomain({ maxVcpus: 1 });
 * writeGuestEntries(s.hv.xenstore, dom.domid, {
 *   name: "web1", uuid: dom.info().handle, type: "pvh", memKib: 65536, vcpus: 1,
 * });
 * console.log(guestName(s.hv.xenstore, dom.domid)); // "web1"
 * dom.destroy();
 * ```
 */
export function writeGuestEntries(xs: XenStore, domid: number, entries: GuestEntries): void {
  const dom = `/local/domain/${domid}`;
  const vm = `/vm/${entries.uuid}`;
  const libxl = `/libxl/${domid}`;
  const ro: XsPermission[] = [{ id: 0, perms: XS_PERM.NONE }, { id: domid, perms: XS_PERM.READ }];
  const rw: XsPermission[] = [{ id: domid, perms: XS_PERM.NONE }];
  xs.transaction((t) => {
    xs.rm(dom, t);
    xs.rm(libxl, t);
    for (const [path, perms] of [[dom, ro], [vm, ro], [libxl, [{ id: 0, perms: 0 }]]] as const) {
      xs.mkdir(path, t);
      xs.setPermissions(path, perms, t);
    }
    // A new node inherits its parent's permissions (xenstored): set them
    // only where they differ, saving round trips.
    const put = (path: string, value: string | number, perms?: XsPermission[]) => {
      xs.write(path, String(value), t);
      if (perms) xs.setPermissions(path, perms, t);
    };
    put(`${vm}/uuid`, entries.uuid);
    put(`${vm}/name`, entries.name);
    put(`${libxl}/type`, entries.type);
    put(`${dom}/vm`, vm);
    put(`${dom}/name`, entries.name);
    put(`${dom}/domid`, domid);
    for (const d of ["cpu", "memory", "device", "control"]) put(`${dom}/${d}`, "");
    for (const c of CONTROL_NODES) put(`${dom}/control/${c}`, "", rw);
    for (const d of GUEST_DIRS) put(`${dom}/${d}`, "", rw);
    put(`${dom}/memory/static-max`, entries.memKib);
    put(`${dom}/memory/target`, entries.memKib);
    for (let i = 0; i < entries.vcpus; i++) put(`${dom}/cpu/${i}/availability`, "online");
    // The console device (libxl's, served by xenconsoled): all but its ring,
    // which connectGuestRings adds.
    const con = `${dom}/console`;
    const backend = `/local/domain/0/backend/console/${domid}/0`;
    put(`${con}/backend`, backend);
    put(`${con}/backend-id`, 0);
    put(`${con}/limit`, CONSOLE_LIMIT);
    put(`${con}/type`, "xenconsoled");
    put(`${con}/output`, "pty");
    put(`${con}/tty`, "", rw);
    put(backend, "", [{ id: 0, perms: XS_PERM.NONE }, { id: domid, perms: XS_PERM.READ }]);
    put(`${backend}/frontend`, con);
    put(`${backend}/frontend-id`, domid);
    put(`${backend}/online`, 1);
    put(`${backend}/state`, 1);
    put(`${backend}/protocol`, "vt100");
  });
  if (entries.store || entries.console) connectGuestRings(xs, domid, entries);
}

/**
 * The ring half of a guest's entries (libxl's `build_post`): the ports
 * and gfns under `store/` and `console/`, then `xs_introduce_domain` when
 * there is a xenstore ring.  A restore writes everything else when it
 * creates the domain and only this once the stream is in: six round trips
 * to xenstored in the downtime instead of thirty.
 */
export function connectGuestRings(xs: XenStore, domid: number, rings: GuestRings): void {
  const dom = `/local/domain/${domid}`;
  xs.transaction((t) => {
    if (rings.store) {
      xs.write(`${dom}/store/port`, String(rings.store.port), t);
      xs.write(`${dom}/store/ring-ref`, String(rings.store.gfn), t);
    }
    if (rings.console) {
      xs.write(`${dom}/console/port`, String(rings.console.port), t);
      xs.write(`${dom}/console/ring-ref`, String(rings.console.gfn), t);
    }
  });
  if (rings.store) xs.introduceDomain(domid, rings.store.gfn, rings.store.port);
}

/**
 * Whether `name` is one xenmig gives a domain: 1-64 printable ASCII
 * characters, no spaces (so `xl list` columns and file names stay intact).
 *
 * @example
 * ```ts
 * import { isGuestName } from "./guest_xenstore.ts";
 * console.log(isGuestName("web-1"), isGuestName("two words")); // true false
 * ```
 */
export function isGuestName(name: string): boolean {
  return /^[\x21-\x7e]{1,64}$/.test(name);
}

/** The guest's name (`/local/domain/N/name`), if it has one. */
export function guestName(xs: XenStore, domid: number): string | undefined {
  return xs.read(`/local/domain/${domid}/name`);
}

/** Every domain that has a name in xenstore, by domid. */
export function guestNames(xs: XenStore): Map<number, string> {
  const out = new Map<number, string>();
  for (const id of xs.directory("/local/domain") ?? []) {
    if (!/^\d+$/.test(id)) continue;
    const name = guestName(xs, Number(id));
    if (name !== undefined) out.set(Number(id), name);
  }
  return out;
}

/**
 * The domain other than `except` that is called `name`, if any (names are
 * unique under xl).
 *
 * @example
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * import { domainCalled, guestName } from "./guest_xenstore.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const name = guestName(s.hv.xenstore, s.domid!)!;
 * console.log(domainCalled(s.hv.xenstore, name) === s.domid); // true
 * console.log(domainCalled(s.hv.xenstore, name, s.domid)); // undefined
 * ```
 */
export function domainCalled(xs: XenStore, name: string, except?: number): number | undefined {
  for (const [id, other] of guestNames(xs)) {
    if (id !== except && other === name) return id;
  }
  return undefined;
}

/** Options of {@linkcode renameGuest}. */
export interface RenameOptions {
  /**
   * The caller has made sure, with {@linkcode assertNameFree}, that no other
   * domain has the name: a rename in a migration's downtime skips reading
   * every domain's name again.
   */
  nameChecked?: boolean;
}

/**
 * Throws (EEXIST) if a domain other than `except` is called `name`.
 *
 * @example
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * import { assertNameFree, guestName } from "./guest_xenstore.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const name = guestName(s.hv.xenstore, s.domid!)!;
 * assertNameFree(s.hv.xenstore, name, s.domid!); // its own name: fine
 * assertNameFree(s.hv.xenstore, `${name}--other`);
 * ```
 */
export function assertNameFree(xs: XenStore, name: string, except?: number): void {
  const owner = domainCalled(xs, name, except);
  if (owner !== undefined) {
    throw new XenError("rename", 17, {
      subject: except === undefined ? name : `domid ${except} to ${name}`,
      reason: `domain ${owner} is already called ${name}`,
    });
  }
}

/**
 * Renames a domain as `libxl_domain_rename` does: refused (EEXIST) when
 * another domain already has `name`; the `/vm` copy follows.
 *
 * @example
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * import { guestName, renameGuest, writeGuestEntries } from "./guest_xenstore.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const dom = s.hv.createDomain({ maxVcpus: 1 });
 * const xs = s.hv.xenstore;
 * writeGuestEntries(xs, dom.domid, { name: "a", uuid: dom.info().handle, type: "pvh", memKib: 65536, vcpus: 1 });
 * renameGuest(xs, dom.domid, "a--migratedaway");
 * console.log(guestName(xs, dom.domid)); // "a--migratedaway"
 * dom.destroy();
 * ```
 */
export function renameGuest(
  xs: XenStore,
  domid: number,
  name: string,
  options: RenameOptions = {},
): void {
  xs.transaction((t) => {
    if (!options.nameChecked) assertNameFree(xs, name, domid);
    const dom = `/local/domain/${domid}`;
    if (xs.read(`${dom}/name`, t) === undefined) {
      throw new XenError("rename", 2, { subject: `domid ${domid}`, reason: "it has no name" });
    }
    xs.write(`${dom}/name`, name, t);
    const vm = xs.read(`${dom}/vm`, t);
    if (vm?.startsWith("/vm/")) xs.write(`${vm}/name`, name, t);
  });
}

/**
 * Removes what the toolstack wrote for a domain that is gone (as
 * `xl destroy` does) and tells xenstored to drop it; quiet about entries
 * that are already absent.
 */
export function removeGuestEntries(
  xs: XenStore,
  domid: number,
  liveUuids?: ReadonlySet<string>,
): void {
  const dom = `/local/domain/${domid}`;
  const vm = xs.read(`${dom}/vm`);
  // A localhost migration's two ends share the uuid, hence the /vm path:
  // it stays while another domain has that uuid (`liveUuids`, when the
  // caller knows them, else every domain's vm path is read).
  const shared = vm !== undefined &&
    (liveUuids
      ? liveUuids.has(vm.slice("/vm/".length))
      : (xs.directory("/local/domain") ?? []).some((id) =>
        id !== String(domid) && xs.read(`/local/domain/${id}/vm`) === vm
      ));
  xs.transaction((t) => {
    if (vm?.startsWith("/vm/") && !shared) xs.rm(vm, t);
    xs.rm(`/local/domain/0/backend/console/${domid}`, t);
    xs.rm(`/libxl/${domid}`, t);
    xs.rm(dom, t);
  });
  if (xs.isIntroduced(domid)) xs.releaseDomain(domid);
}
