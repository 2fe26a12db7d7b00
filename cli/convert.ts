/**
 * `xenmig convert` and the drop-in `convert-legacy-stream`: the flags and
 * exit codes of Xen's script (0 converted, 1 bad stream, 2 content the
 * converter does not implement or an internal error), output byte-identical
 * to Xen 4.17's — with `-w` / `-g` optional (detected), `-x` and
 * `--version` working under any runtime, errors in one line, and file
 * output that appears whole or not at all.
 *
 * Two deliberate differences in where text goes: with `-o 1` the verbose
 * lines go to stderr (Xen's would be mixed into the stream on stdout), and
 * Python 3's `b'...'` reprs in Xen's verbose lines are printed as text.
 *
 * With FFI permission, input and output are descriptors driven through libc
 * and page data moves between them inside the kernel (`splice`,
 * `copy_file_range`); without it, Deno's I/O is used.  Same bytes either way.
 *
 * @module
 */

import { StreamError } from "../lib/errors.ts";
import { AtomicFile } from "../lib/io/atomic_file.ts";
import { type ByteSink, openOutput } from "../lib/io/byte_sink.ts";
import { type ByteSource, openInput, parseFd } from "../lib/io/byte_source.ts";
import { CONVERTER_VERSION } from "../lib/legacy/constants.ts";
import { convertLegacyStream, type LegacyOutputFormat } from "../lib/legacy/convert.ts";
import { LegacyUnsupportedError } from "../lib/legacy/errors.ts";
import { FdInput } from "../lib/legacy/fd_input.ts";
import { FdOutput } from "../lib/legacy/fd_output.ts";
import { enlargePipe, FdError, libc, O_RDONLY, O_WRONLY, openFd } from "../lib/legacy/libc.ts";
import { formatHelp, type OptionSpec, parseOptions, UsageError } from "./options.ts";
import { ToolOutput, writeAllSync } from "./output.ts";

const SPECS: Record<string, OptionSpec> = {
  in: { type: "string", short: "i", metavar: "<FD or FILE>", help: "Legacy input to convert" },
  out: { type: "string", short: "o", metavar: "<FD or FILE>", help: "v2 (or later) format output" },
  width: {
    type: "string",
    short: "w",
    choices: ["32", "64"],
    metavar: "<32/64>",
    help: "Legacy toolstack bitness (detected when omitted)",
  },
  "guest-type": {
    type: "string",
    short: "g",
    choices: ["pv", "hvm"],
    metavar: "<pv/hvm>",
    help: "Type of guest in stream (detected when omitted)",
  },
  format: {
    type: "string",
    short: "f",
    default: "libxc",
    choices: ["libxc", "libxl"],
    metavar: "<libxc|libxl>",
    help: "Desired format of the outgoing stream (defaults to libxc)",
  },
  verbose: { type: "boolean", short: "v", default: false, help: "Summarise stream contents" },
  xl: {
    type: "boolean",
    short: "x",
    default: false,
    help: "Is an `xl` header present in the stream? (default no)",
  },
  "skip-qemu": {
    type: "boolean",
    default: false,
    help: "Skip processing of the qemu tail? (default no)",
  },
  syslog: { type: "boolean", default: false, help: "Log to syslog instead of stdout" },
  version: { type: "boolean", default: false, help: "show program's version number and exit" },
  help: { type: "boolean", short: "h", default: false, help: "" },
};

const DESCRIPTION = "Convert a legacy stream to a v2 (or later) stream";

/** Info and error lines; verbose output moves to stderr when the stream goes to stdout. */
interface Messages {
  info(line: string): void;
  error(line: string): void;
  close(): Promise<void>;
}

function messages(verbose: boolean, syslogTag: string | undefined, toStdout: boolean): Messages {
  const tool = new ToolOutput({ verbose, quiet: false, syslogTag });
  if (!toStdout || syslogTag) {
    return {
      info: tool.info,
      error: (l) => tool.error(l),
      close: () => tool.close(),
    };
  }
  return {
    info: (line) => {
      if (verbose) writeAllSync(Deno.stderr, line + "\n");
    },
    error: (line) => writeAllSync(Deno.stderr, line + "\n"),
    close: () => Promise.resolve(),
  };
}

/** An output that is committed on success and discarded on failure. */
interface Output {
  sink: ByteSink;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Opens the input: through libc when FFI is there (page data then moves
 * to the output inside the kernel), else through Deno.
 */
async function openSource(spec: string): Promise<ByteSource> {
  const c = libc();
  const fd = parseFd(spec);
  if (fd !== undefined) enlargePipe(fd);
  if (!c) return await openInput(spec);
  return fd !== undefined
    ? new FdInput(c, fd)
    : new FdInput(c, openFd(c, spec, O_RDONLY), { owned: true });
}

/**
 * Opens `spec`: a descriptor or a non-regular file (FIFO, device) is written
 * directly; a regular file (or a new one) atomically, through a temporary
 * file renamed over it on success.
 */
async function openTarget(spec: string): Promise<Output> {
  const c = libc();
  const fd = parseFd(spec);
  let path = spec;
  let direct = fd !== undefined;
  if (!direct) {
    try {
      const st = await Deno.stat(spec);
      direct = !st.isFile;
      if (!direct) path = await Deno.realPath(spec); // Replace a symlink's target, not the link.
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (direct) {
    if (fd !== undefined) enlargePipe(fd);
    const sink = !c
      ? await openOutput(spec)
      : new FdOutput(c, fd ?? openFd(c, spec, O_WRONLY), { owned: fd === undefined });
    return { sink, commit: () => sink.close(), discard: () => sink.close() };
  }
  const file = await AtomicFile.create(path);
  const temp = c ? file.tempPath : undefined;
  if (!c || !temp) return { sink: file, commit: () => file.commit(), discard: () => file.abort() };
  // Written through a descriptor of our own; AtomicFile renames or cleans up.
  let out: FdOutput;
  try {
    out = new FdOutput(c, openFd(c, temp, O_WRONLY), { owned: true });
  } catch (e) {
    await file.abort();
    throw e;
  }
  return {
    sink: out,
    async commit() {
      await out.close();
      await file.commit();
    },
    async discard() {
      await out.close();
      await file.abort();
    },
  };
}

/** The reason alone, for "cannot open" lines. */
function reason(e: unknown): string {
  if (e instanceof FdError) return e.reason;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs the convert command with `args`; returns the exit code.
 *
 * @example Print the converter version
 * ```ts
 * import { convertCommand } from "./convert.ts";
 * console.assert(await convertCommand(["--version"], "convert-legacy-stream") === 0);
 * ```
 *
 * @example Convert a file (`-w` / `-g` detected)
 * ```ts ignore
 * import { convertCommand } from "./convert.ts";
 * Deno.exit(await convertCommand(["-i", "old.save", "-o", "new.save", "-f", "libxl"], "xenmig convert"));
 * ```
 */
export async function convertCommand(args: string[], prog: string): Promise<number> {
  const usage = `${prog} [options] -i INPUT -o OUTPUT [-w WIDTH] [-g GUEST]`;
  const { help: _h, ...shown } = SPECS;
  let values;
  try {
    ({ values } = parseOptions(args, SPECS));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAllSync(Deno.stderr, `Usage: ${usage}\n\n${prog}: error: ${e.message}\n`);
    return 2;
  }
  if (values.help) {
    writeAllSync(Deno.stdout, formatHelp(usage, DESCRIPTION, shown));
    return 0;
  }
  if (values.version) {
    writeAllSync(Deno.stdout, `${CONVERTER_VERSION}\n`);
    return 0;
  }
  if (values.in === undefined || values.out === undefined) {
    // As Xen's script: the help, on stderr, and exit code 1.
    writeAllSync(Deno.stderr, formatHelp(usage, DESCRIPTION, shown));
    return 1;
  }
  const inSpec = values.in as string;
  const outSpec = values.out as string;
  const name = prog.split(" ").pop()!;
  const msg = messages(
    values.verbose as boolean,
    values.syslog ? name : undefined,
    parseFd(outSpec) === 1,
  );

  let source;
  try {
    source = await openSource(inSpec);
  } catch (e) {
    msg.error(`${prog}: cannot open input '${inSpec}': ${reason(e)}`);
    await msg.close();
    return 1;
  }
  let output: Output;
  try {
    output = await openTarget(outSpec);
  } catch (e) {
    source.close();
    msg.error(`${prog}: cannot open output '${outSpec}': ${reason(e)}`);
    await msg.close();
    return 1;
  }

  let code = 0;
  try {
    await convertLegacyStream(source, output.sink, {
      format: values.format as LegacyOutputFormat,
      width: values.width === undefined ? undefined : Number(values.width) as 32 | 64,
      guestType: values["guest-type"] as "pv" | "hvm" | undefined,
      xl: values.xl as boolean,
      skipQemu: values["skip-qemu"] as boolean,
      info: msg.info,
    });
    await output.commit();
  } catch (e) {
    await output.discard().catch(() => {});
    if (e instanceof StreamError) {
      msg.error(`Stream Error: ${e.describe()}`);
      code = 1;
    } else if (e instanceof LegacyUnsupportedError) {
      msg.error(`Unsupported: ${e.describe()}`);
      code = 2;
    } else if (e instanceof FdError || e instanceof Deno.errors.BrokenPipe) {
      // An I/O error, as Xen's IOError: exit code 1.
      msg.error(`I/O Error: ${(e as Error).message}`);
      code = 1;
    } else {
      msg.error(`Script Error: ${e instanceof Error ? e.message : String(e)}`);
      code = 2;
    }
  } finally {
    source.close();
  }
  await msg.close();
  return code;
}
