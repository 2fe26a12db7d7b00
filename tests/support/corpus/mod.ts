/**
 * The verification corpus: streams built in memory that cover every record
 * type of every layer and every check of Xen's reference verifier, with the
 * outcome the spec requires.  Fixture tooling for the tests, not product
 * code.
 *
 * @example
 * ```ts
 * import { corpus } from "./mod.ts";
 * const items = corpus();
 * console.assert(items.some((i) => i.expect.exitCode === 0) && items.some((i) => i.expect.exitCode === 1));
 * ```
 *
 * @module
 */

import { invalidItems } from "./invalid.ts";
import type { CorpusItem } from "./types.ts";
import { validItems } from "./valid.ts";

export type { CorpusFormat, CorpusItem } from "./types.ts";

let cached: CorpusItem[] | undefined;

/** Every corpus item, valid ones first; names are unique. */
export function corpus(): CorpusItem[] {
  if (cached) return cached;
  const items = [...validItems(), ...invalidItems()];
  const names = new Set<string>();
  for (const item of items) {
    if (names.has(item.name)) throw new Error(`corpus: duplicate item name ${item.name}`);
    names.add(item.name);
  }
  cached = items;
  return items;
}
