/**
 * Parsing command arguments into numbers, with one clear error naming the
 * command and the argument.
 *
 * @module
 */

import { ReplError } from "./reply.ts";

/**
 * A whole number in `[min, max]`, decimal or `0x` hex.
 *
 * @example
 * ```ts
 * import { parseWhole } from "./arguments.ts";
 * console.assert(parseWhole("0x10", "inspect", "PFN") === 16);
 * console.assert(parseWhole("12", "top", "N", { min: 1 }) === 12);
 * ```
 */
export function parseWhole(
  text: string,
  command: string,
  what: string,
  range: { min?: number; max?: number } = {},
): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const ok = /^(?:0x[0-9a-f]+|\d+)$/i.test(text);
  const n = ok ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const bound = range.max === undefined ? `>= ${min}` : `in ${min}..${max}`;
    throw new ReplError(`${command}: ${what} must be a whole number ${bound}, not '${text}'`);
  }
  return n;
}

/** Refuses more than `max` arguments. */
export function atMost(args: readonly string[], max: number, command: string, usage: string): void {
  if (args.length > max) {
    throw new ReplError(
      `${command}: unexpected argument '${args[max]}' (usage: ${usage})`,
    );
  }
}
