/**
 * Command-line parsing for xenmig's commands and the drop-in scripts, on
 * `node:util`'s `parseArgs`, with optparse-style usage errors (exit code 2,
 * "PROG: error: ...") like Xen's Python tools.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** One option: parseArgs' config plus help text and allowed values. */
export interface OptionSpec {
  /** `boolean` flag or `string` value. */
  type: "boolean" | "string";
  /** Single-letter alias. */
  short?: string;
  /** Default value. */
  default?: string | boolean;
  /** Allowed values for string options. */
  choices?: readonly string[];
  /** Placeholder in help, e.g. `<FD or FILE>`. */
  metavar?: string;
  /** Help text. */
  help: string;
  /** May be given more than once. */
  multiple?: boolean;
}

/** A usage error: print it and exit 2. */
export class UsageError extends Error {
  /** Creates a usage error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parsed values. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `args` against `specs`; returns the values and positionals.
 * Throws {@linkcode UsageError} for unknown options, missing values and
 * values outside `choices`.
 *
 * @example
 * ```ts
 * import { parseOptions } from "./options.ts";
 * const { values } = parseOptions(["-v", "--format", "xl"], {
 *   verbose: { type: "boolean", short: "v", help: "" },
 *   format: { type: "string", short: "f", choices: ["libxc", "xl"], default: "libxc", help: "" },
 * });
 * console.assert(values.verbose === true && values.format === "xl");
 * ```
 */
export function parseOptions(
  args: string[],
  specs: Record<string, OptionSpec>,
  allowPositionals = false,
): { values: Values; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, s] of Object.entries(specs)) {
    const o: Record<string, unknown> = { type: s.type };
    if (s.short) o.short = s.short;
    if (s.default !== undefined) o.default = s.default;
    if (s.multiple) o.multiple = true;
    options[name] = o as never;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(describeParseError(e as Error));
  }
  for (const [name, s] of Object.entries(specs)) {
    const v = parsed.values[name];
    if (s.choices && typeof v === "string" && !s.choices.includes(v)) {
      const flag = s.short ? `-${s.short}/--${name}` : `--${name}`;
      throw new UsageError(
        `option ${flag}: invalid choice: '${v}' (choose from ${
          s.choices.map((c) => `'${c}'`).join(", ")
        })`,
      );
    }
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

function describeParseError(e: Error): string {
  const m = e.message;
  const unknown = m.match(/Unknown option '([^']+)'/);
  if (unknown) return `no such option: ${unknown[1]}`;
  const missing = m.match(/Option '([^']+)' argument missing/);
  if (missing) return `${missing[1].split(",").pop()?.trim()} option requires an argument`;
  const positional = m.match(/Unexpected argument '([^']+)'/);
  if (positional) return `unexpected argument '${positional[1]}'`;
  return m;
}

/**
 * Formats a help text from the specs.
 *
 * @example
 * ```ts
 * import { formatHelp } from "./options.ts";
 * const text = formatHelp("prog [options]", "Does things.", { quiet: { type: "boolean", short: "q", help: "Be quiet" } });
 * console.assert(text.includes("-q, --quiet") && text.includes("Be quiet"));
 * ```
 */
export function formatHelp(
  usage: string,
  description: string,
  specs: Record<string, OptionSpec>,
): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const arg = s.type === "string" ? `=${s.metavar ?? name.toUpperCase()}` : "";
    const flags = s.short
      ? `-${s.short}${arg ? ` ${arg.slice(1)}` : ""}, --${name}${arg}`
      : `--${name}${arg}`;
    return [flags, s.help] as const;
  });
  rows.unshift(["-h, --help", "show this help message and exit"]);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  const lines = rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`);
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${lines.join("\n")}\n`;
}
