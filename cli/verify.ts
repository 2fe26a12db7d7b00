/**
 * `xenmig verify` and the drop-in `verify-stream-v2`: the flags, output and
 * exit codes of Xen's script (0 valid, 1 stream or record error, 2 internal
 * error), plus `--strict` and `--json`.
 *
 * @module
 */

import { StreamError } from "../lib/errors.ts";
import { openInput } from "../lib/io/byte_source.ts";
import type { StreamFormat } from "../lib/stream_parser.ts";
import { verifyStream } from "../lib/verify/verify_stream.ts";
import { formatHelp, type OptionSpec, parseOptions, UsageError } from "./options.ts";
import { ToolOutput, writeAllSync } from "./output.ts";

const SPECS: Record<string, OptionSpec> = {
  in: {
    type: "string",
    short: "i",
    default: "0",
    metavar: "<FD or FILE>",
    help: "Stream to verify (defaults to stdin)",
  },
  verbose: { type: "boolean", short: "v", default: false, help: "Summarise stream contents" },
  quiet: { type: "boolean", short: "q", default: false, help: "Suppress all logging/errors" },
  format: {
    type: "string",
    short: "f",
    default: "libxc",
    choices: ["libxc", "libxl", "xl"],
    metavar: "<libxc|libxl|xl>",
    help: "Format of the incoming stream (defaults to libxc)",
  },
  syslog: { type: "boolean", default: false, help: "Log to syslog instead of stdout" },
  strict: {
    type: "boolean",
    default: false,
    help:
      "Also check what the spec requires beyond Xen's checks (record order, page types, HVM context, ...)",
  },
  json: { type: "boolean", default: false, help: "Print a JSON summary of the stream on stdout" },
  help: { type: "boolean", short: "h", default: false, help: "" },
};

const DESCRIPTION = "Verify a stream according to the v2 (or later) spec";

/**
 * Runs the verify command with `args`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { verifyCommand } from "./verify.ts";
 * Deno.exit(await verifyCommand(["-v", "-f", "xl", "-i", "domain.save"], "xenmig verify"));
 * ```
 */
export async function verifyCommand(args: string[], prog: string): Promise<number> {
  let values;
  try {
    // Xen's optparse ignores positional arguments; so does the drop-in.
    ({ values } = parseOptions(args, SPECS, true));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAllSync(Deno.stderr, `Usage: ${prog} [options]\n\n${prog}: error: ${e.message}\n`);
    return 2;
  }
  const { help: _h, ...shown } = SPECS;
  if (values.help) {
    writeAllSync(Deno.stdout, formatHelp(`${prog} [options]`, DESCRIPTION, shown));
    return 0;
  }
  const out = new ToolOutput({
    verbose: values.verbose as boolean,
    quiet: values.quiet as boolean,
    syslogTag: values.syslog ? prog.split(" ").pop() : undefined,
  });
  let source;
  try {
    // Verifying is all this process does: block on reads (pipes too).
    source = await openInput(values.in as string, { blocking: true });
  } catch (e) {
    out.error(`${prog}: cannot open input '${values.in}': ${(e as Error).message}`);
    await out.close();
    return 1;
  }
  const result = await verifyStream(source, {
    format: values.format as StreamFormat,
    info: out.info,
    strict: values.strict as boolean,
    summary: values.json as boolean,
  });
  for (const w of result.warnings) out.error(`Warning: ${w.message} (offset ${w.offset})`);
  if (result.error instanceof StreamError) {
    out.error(`Stream Error: ${result.error.describe()}`);
  } else if (result.error) {
    out.error(`Script Error: ${result.error.message}`);
  }
  out.flush();
  if (values.json) {
    const err = result.error instanceof StreamError
      ? { message: result.error.message, offset: result.error.offset, where: result.error.where }
      : result.error
      ? { message: result.error.message }
      : undefined;
    const summary = result.summary ?? { warnings: result.warnings };
    writeAllSync(
      Deno.stdout,
      JSON.stringify({ valid: result.exitCode === 0, error: err, ...summary }, null, 2) + "\n",
    );
  }
  await out.close();
  return result.exitCode;
}
