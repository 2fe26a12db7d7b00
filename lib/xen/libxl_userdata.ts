/**
 * libxl's per-domain userdata files (`/var/lib/xen/userdata-d.<domid>.<uuid>.<key>`):
 * `libxl-json` holds the domain's configuration, which `xl save`,
 * `xl migrate` and `xl list -l` read back.  A domain xenmig restores gets
 * one, as `xl restore` would give it, so xl can save or migrate it later;
 * destroying a domain removes them, as libxl does.
 *
 * @module
 */

import { pathKind } from "../io/path_exists.ts";

/** libxl's userdata directory. */
export const LIBXL_USERDATA_DIR = "/var/lib/xen";

/** The path of one userdata file. */
export function userdataPath(
  domid: number,
  uuid: string,
  key = "libxl-json",
  dir = LIBXL_USERDATA_DIR,
): string {
  return `${dir}/userdata-d.${domid}.${uuid}.${key}`;
}

/**
 * Stores the domain's configuration (JSON) where libxl keeps it: written
 * beside and renamed into place, as libxl does.  Skipped (false) when the
 * directory does not exist: not a dom0 with xl's tools.
 *
 * @example
 * ```ts
 * import { readDomainConfig, removeUserdata, storeDomainConfig } from "./libxl_userdata.ts";
 * const dir = Deno.makeTempDirSync();
 * console.log(storeDomainConfig(5, "00000000-0000-0000-0000-000000000005", "{}", dir)); // true
 * console.log(readDomainConfig(5, "00000000-0000-0000-0000-000000000005", dir)); // "{}"
 * removeUserdata(5, dir);
 * console.log(readDomainConfig(5, "00000000-0000-0000-0000-000000000005", dir)); // undefined
 * Deno.removeSync(dir);
 * ```
 */
export function storeDomainConfig(
  domid: number,
  uuid: string,
  json: string,
  dir = LIBXL_USERDATA_DIR,
): boolean {
  if (pathKind(dir) !== "directory") return false;
  const path = userdataPath(domid, uuid, "libxl-json", dir);
  const tmp = `${path}.xenmig-${Deno.pid}`;
  try {
    Deno.writeTextFileSync(tmp, json);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never written */ }
    throw e;
  }
  return true;
}

/** The stored configuration, without libxl's trailing NULs; `undefined` if there is none. */
export function readDomainConfig(
  domid: number,
  uuid: string,
  dir = LIBXL_USERDATA_DIR,
): string | undefined {
  try {
    return Deno.readTextFileSync(userdataPath(domid, uuid, "libxl-json", dir)).replace(/\0+$/, "");
  } catch {
    return undefined;
  }
}

/** Removes every userdata file of `domid` (after it is destroyed); quiet when there are none. */
export function removeUserdata(domid: number, dir = LIBXL_USERDATA_DIR): void {
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(dir);
  } catch {
    return;
  }
  const prefix = `userdata-d.${domid}.`;
  for (const e of entries) {
    if (e.isFile && e.name.startsWith(prefix)) {
      try {
        Deno.removeSync(`${dir}/${e.name}`);
      } catch { /* raced with libxl's own cleanup */ }
    }
  }
}
