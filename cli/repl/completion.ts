/**
 * Tab completion for the terminal: command names first, then each
 * command's own arguments (policy names, workload patterns, domids,
 * `until` field names, `eval` property paths), in `node:readline`'s
 * `[candidates, text being completed]` form.
 *
 * @module
 */

import { findCommand } from "./commands/mod.ts";
import type { ReplSession } from "./session.ts";

/**
 * Completes `line` (the text left of the cursor).
 *
 * @example
 * ```ts ignore
 * completeLine("pol", session);            // [["policy"], "pol"]
 * completeLine("policy down", session);    // [["downtime", "downtime:100", "downtime:300"], "down"]
 * ```
 */
export function completeLine(line: string, session: ReplSession): [string[], string] {
  const m = /^(\s*)(\S*)(\s+)?([\s\S]*)$/.exec(line)!;
  const word = m[2];
  if (m[3] === undefined) {
    if (word.startsWith(".")) return [candidates(session, "eval", [], word), word];
    const names = session.commands.map((c) => c.name);
    return [names.filter((n) => n.startsWith(word)).sort(), word];
  }
  const rest = m[4];
  const parts = rest.split(/\s+/);
  const partial = parts[parts.length - 1];
  const before = parts.slice(0, -1).filter(Boolean);
  return [candidates(session, word, before, partial), partial];
}

function candidates(
  session: ReplSession,
  name: string,
  before: string[],
  partial: string,
): string[] {
  const command = findCommand(name);
  if (!command?.complete) return [];
  try {
    return [...new Set(command.complete(session, before, partial))]
      .filter((c) => c.startsWith(partial));
  } catch {
    return []; // completion must never break the line being typed
  }
}
