/**
 * Whether a path exists, with `Deno.statSync` alone: `node:fs` costs more
 * to load than some whole commands run for (tens of ms natively, seconds in
 * a dom0 under emulation), and the Xen bindings need only this.
 *
 * @module
 */

/**
 * What is at `path`: `"file"`, `"directory"`, `"other"` (a device...), or
 * `undefined` when nothing is there (or it cannot be seen).
 *
 * @example
 * ```ts
 * import { pathKind } from "./path_exists.ts";
 * console.log(pathKind("/"), pathKind("/no/such/path")); // "directory" undefined
 * ```
 */
export function pathKind(path: string): "file" | "directory" | "other" | undefined {
  try {
    const s = Deno.statSync(path);
    return s.isFile ? "file" : s.isDirectory ? "directory" : "other";
  } catch {
    return undefined;
  }
}

/**
 * Whether anything is at `path`.
 *
 * @example
 * ```ts
 * import { pathExists } from "./path_exists.ts";
 * console.log(pathExists("/"), pathExists("/no/such/path")); // true false
 * ```
 */
export function pathExists(path: string): boolean {
  return pathKind(path) !== undefined;
}
