/**
 * The REPL's command history, kept across sessions in the user's state
 * directory: `$XDG_STATE_HOME/xenmig/repl_history`, else
 * `~/.local/state/xenmig/repl_history`.  One command per line, oldest
 * first; trimmed to the newest {@linkcode HISTORY_SIZE} when it grows.
 *
 * @module
 */

import { dirname, join } from "node:path";

/** Commands kept. */
export const HISTORY_SIZE = 1000;

/**
 * Where the history lives, from the environment; undefined when neither
 * `XDG_STATE_HOME` nor `HOME` is set (history is then not kept).
 *
 * @example
 * ```ts
 * import { historyPath } from "./history.ts";
 * const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
 * console.assert(historyPath(env({ XDG_STATE_HOME: "/s", HOME: "/h" })) === "/s/xenmig/repl_history");
 * console.assert(historyPath(env({ HOME: "/h" })) === "/h/.local/state/xenmig/repl_history");
 * console.assert(historyPath(env({})) === undefined);
 * ```
 */
export function historyPath(
  env: { get(key: string): string | undefined } = Deno.env,
): string | undefined {
  const state = env.get("XDG_STATE_HOME");
  // The XDG spec: a relative path is invalid and must be ignored.
  if (state && state.startsWith("/")) return join(state, "xenmig", "repl_history");
  const home = env.get("HOME");
  return home ? join(home, ".local", "state", "xenmig", "repl_history") : undefined;
}

/** A history file. */
export class History {
  /** The file. */
  readonly path: string;
  #lines: string[];

  private constructor(path: string, lines: string[]) {
    this.path = path;
    this.#lines = lines;
  }

  /**
   * Loads `path` (a missing or unreadable file is an empty history).
   *
   * @example
   * ```ts
   * import { History } from "./history.ts";
   * const dir = await Deno.makeTempDir();
   * const h = await History.load(`${dir}/xenmig/repl_history`);
   * await h.add("start");
   * await h.add("step");
   * console.assert((await History.load(h.path)).newestFirst().join() === "step,start");
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async load(path: string): Promise<History> {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch {
      // No history yet.
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    return new History(path, lines.slice(-HISTORY_SIZE));
  }

  /** Commands, newest first (as `node:readline` takes them). */
  newestFirst(): string[] {
    return [...this.#lines].reverse();
  }

  /**
   * Records `line` (blank lines and a repeat of the last command are not
   * kept).  A failure to write is reported once, through the result, and
   * never interrupts the session.
   */
  async add(line: string): Promise<string | undefined> {
    const text = line.replace(/[\r\n]+/g, " ").trim();
    if (!text || this.#lines[this.#lines.length - 1] === text) return undefined;
    this.#lines.push(text);
    try {
      await Deno.mkdir(dirname(this.path), { recursive: true });
      if (this.#lines.length > HISTORY_SIZE) {
        this.#lines = this.#lines.slice(-HISTORY_SIZE);
        // Rewritten whole through a temporary file renamed over it, so an
        // interrupted or failed write never leaves a truncated history
        // (issue 7: every file a command writes is written atomically).
        const tmp = `${this.path}.${Deno.pid}.tmp`;
        try {
          await Deno.writeTextFile(tmp, this.#lines.join("\n") + "\n");
          await Deno.rename(tmp, this.path);
        } catch (e) {
          await Deno.remove(tmp).catch(() => {});
          throw e;
        }
      } else {
        await Deno.writeTextFile(this.path, text + "\n", { append: true });
      }
      return undefined;
    } catch (e) {
      return `history not saved to ${this.path}: ${e instanceof Error ? e.message : e}`;
    }
  }
}
