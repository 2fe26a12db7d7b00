/**
 * Command-line parsing for xenmig's commands and the drop-in scripts, with
 * optparse-style usage errors (exit code 2, "PROG: error: ...") like Xen's
 * Python tools.
 *
 * The parser is this module's own rather than `node:util`'s `parseArgs`:
 * importing `node:util` loads Deno's Node compatibility layer, 0.3 s of
 * every command's start-up in a dom0 under emulation (measured with
 * `--cpu-prof` in the lab), more than parsing needs.  Its rules are
 * parseArgs' strict mode: `--name`, `--name=value`, `--name value`, `-n`,
 * `-nVALUE`, `-n value`, clustered short flags (`-vq`) and `--` ending the
 * options.
 *
 * @module
 */

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
  const values: Values = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(specs)) if (s.short) byShort.set(s.short, name);
  const set = (name: string, value: string | boolean) => {
    const s = specs[name];
    if (s.choices && typeof value === "string" && !s.choices.includes(value)) {
      const flag = s.short ? `-${s.short}/--${name}` : `--${name}`;
      throw new UsageError(
        `option ${flag}: invalid choice: '${value}' (choose from ${
          s.choices.map((c) => `'${c}'`).join(", ")
        })`,
      );
    }
    if (!s.multiple) values[name] = value;
    else values[name] = [...(values[name] as string[] | undefined ?? []), String(value)];
  };
  const positional = (arg: string) => {
    if (!allowPositionals) throw new UsageError(`unexpected argument '${arg}'`);
    positionals.push(arg);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      args.slice(i + 1).forEach(positional);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (!Object.hasOwn(specs, name)) throw new UsageError(`no such option: --${name}`);
      if (specs[name].type === "boolean") {
        if (eq >= 0) throw new UsageError(`--${name} option does not take a value`);
        set(name, true);
      } else {
        const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
        if (value === undefined) throw new UsageError(`--${name} option requires an argument`);
        set(name, value);
      }
    } else if (arg.length > 1 && arg.startsWith("-")) {
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (name === undefined) throw new UsageError(`no such option: -${arg[j]}`);
        if (specs[name].type === "boolean") {
          set(name, true);
          continue;
        }
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i];
        if (value === undefined) throw new UsageError(`-${arg[j]} option requires an argument`);
        set(name, value);
        break;
      }
    } else {
      positional(arg);
    }
  }
  for (const [name, s] of Object.entries(specs)) {
    if (values[name] === undefined && s.default !== undefined) values[name] = s.default;
  }
  return { values, positionals };
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
