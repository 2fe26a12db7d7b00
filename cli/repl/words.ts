/**
 * Splitting a REPL line into a command name and its arguments.  A leading
 * `.` is shorthand for `eval`.  Arguments are separated by white space;
 * commands that take an expression use the raw rest of the line.
 *
 * @module
 */

/** A split line. */
export interface CommandLine {
  /** The command word as typed (`step`, `quit!`, `eval` for a `.` line). */
  name: string;
  /** Everything after the command word, trimmed. */
  rest: string;
  /** `rest` split on white space. */
  args: string[];
}

/**
 * Splits `line` (already trimmed of surrounding blanks by the caller or not).
 *
 * @example
 * ```ts
 * import { splitCommandLine } from "./words.ts";
 * const c = splitCommandLine("  until dirty < 500 ");
 * console.assert(c.name === "until" && c.rest === "dirty < 500" && c.args.length === 3);
 * console.assert(splitCommandLine(".engine.phase").name === "eval");
 * console.assert(splitCommandLine(".engine.phase").rest === "engine.phase");
 * ```
 */
export function splitCommandLine(line: string): CommandLine {
  const text = line.trim();
  if (text.startsWith(".")) {
    const rest = text.slice(1).trim();
    return { name: "eval", rest, args: words(rest) };
  }
  const m = text.match(/^(\S+)\s*([\s\S]*)$/);
  const name = m?.[1] ?? "";
  const rest = (m?.[2] ?? "").trim();
  return { name, rest, args: words(rest) };
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}
