/**
 * What a REPL command answers: text for a person and data for `--json`, or
 * a {@linkcode ReplError} — one clear line, after which the session goes on.
 *
 * @module
 */

/** A command's answer. */
export interface Reply {
  /** What a person reads (may be empty). */
  text: string;
  /** What `--json` prints, merged into `{"command": ..., "ok": true}`. */
  data: Record<string, unknown>;
  /** The session should end after this command (`quit`). */
  exit?: boolean;
}

/**
 * A mistake of the user's (unknown command, bad argument, wrong state):
 * reported as one line, never a stack trace.
 */
export class ReplError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ReplError";
  }
}

/**
 * Builds a reply.
 *
 * @example
 * ```ts
 * import { reply } from "./reply.ts";
 * const r = reply("3 pages", { pages: 3 });
 * console.assert(r.text === "3 pages" && r.data.pages === 3);
 * ```
 */
export function reply(text: string, data: Record<string, unknown> = {}): Reply {
  return { text, data };
}

/** What running one line produced. */
export type Outcome =
  | { command: string; ok: true; reply: Reply }
  | { command: string; ok: false; error: string };

/**
 * One JSON line for an outcome (what `--json` prints per command).
 * Bigints become strings; `undefined` fields are left out.
 *
 * @example
 * ```ts
 * import { outcomeJson, reply } from "./reply.ts";
 * const line = outcomeJson({ command: "step", ok: true, reply: reply("", { dirty: 10 }) });
 * console.assert(line === '{"command":"step","ok":true,"dirty":10}');
 * ```
 */
export function outcomeJson(o: Outcome): string {
  const body = o.ok
    ? { command: o.command, ok: true, ...o.reply.data }
    : { command: o.command, ok: false, error: o.error };
  return JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
