/**
 * Where the Xen lab keeps things on the host: the project root, and the
 * cache under `.cache/xen-lab/` (Debian packages, unpacked trees, built
 * images keyed by input hash, and one directory per run).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the xenmig checkout (absolute, no trailing slash). */
export const PROJECT_ROOT: string = fileURLToPath(new URL("../../../", import.meta.url))
  .replace(/\/$/, "");

/** The lab's cache directory. */
export const LAB_CACHE: string = join(PROJECT_ROOT, ".cache", "xen-lab");

/** Downloaded `.deb` files. */
export const DEB_DIR: string = join(LAB_CACHE, "debs");

/** One `dpkg -x` tree per package, named after the `.deb`. */
export const UNPACK_DIR: string = join(LAB_CACHE, "unpacked");

/** Built images, one directory per input hash. */
export const IMAGE_DIR: string = join(LAB_CACHE, "images");

/** One directory per lab run (serial log, 9p share, results). */
export const RUN_DIR: string = join(LAB_CACHE, "runs");

/** Sources of the lab's own programs and dom0 scripts. */
export const XEN_TEST_DIR: string = join(PROJECT_ROOT, "tests", "xen");
