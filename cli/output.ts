/**
 * Where a command's messages go: stdout / stderr, or syslog (through the
 * system's `logger`), as Xen's tools do with `--syslog`.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Writes `text` to a Deno writer, ignoring a closed pipe (e.g. `| head`). */
export function writeAllSync(w: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += w.writeSync(bytes.subarray(done));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

/** A line logger that feeds `logger -t TAG --id=PID -p PRIORITY`. */
export class Syslog {
  #tag: string;
  #children = new Map<
    string,
    { proc: Deno.ChildProcess; writer: WritableStreamDefaultWriter<Uint8Array> }
  >();

  /** Logs under `tag` (the program name). */
  constructor(tag: string) {
    this.#tag = tag;
  }

  /** Sends one line at `priority` (`user.info`, `user.err`). */
  log(priority: "user.info" | "user.err", line: string): void {
    let child = this.#children.get(priority);
    if (!child) {
      try {
        const proc = new Deno.Command("logger", {
          args: ["-t", this.#tag, `--id=${Deno.pid}`, "-p", priority],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn();
        child = { proc, writer: proc.stdin.getWriter() };
        this.#children.set(priority, child);
      } catch {
        writeAllSync(
          Deno.stderr,
          `${this.#tag}: syslog unavailable (no logger command): ${line}\n`,
        );
        return;
      }
    }
    child.writer.write(encoder.encode(line + "\n")).catch(() => {});
  }

  /** Flushes and waits for the loggers. */
  async close(): Promise<void> {
    for (const { proc, writer } of this.#children.values()) {
      await writer.close().catch(() => {});
      await proc.status;
    }
    this.#children.clear();
  }
}

/** The info / error channels of a Xen-style tool (`-v`, `-q`, `--syslog`). */
export class ToolOutput {
  readonly #verbose: boolean;
  readonly #quiet: boolean;
  readonly #syslog?: Syslog;
  #lines: string[] = [];

  /** Routes messages per the tool's flags; `syslogTag` enables syslog. */
  constructor(opts: { verbose: boolean; quiet: boolean; syslogTag?: string }) {
    this.#verbose = opts.verbose;
    this.#quiet = opts.quiet;
    if (opts.syslogTag) this.#syslog = new Syslog(opts.syslogTag);
  }

  /** An informational line (shown with `-v`, unless `-q`). */
  info = (msg: string): void => {
    if (this.#quiet || !this.#verbose) return;
    if (this.#syslog) {
      for (const line of msg.split("\n")) this.#syslog.log("user.info", line);
      return;
    }
    this.#lines.push(msg);
    if (this.#lines.length >= 256) this.flush();
  };

  /** An error line (always shown, unless `-q`; also to syslog). */
  error(msg: string): void {
    if (this.#quiet) return;
    this.flush();
    if (this.#syslog) { for (const line of msg.split("\n")) this.#syslog.log("user.err", line); }
    writeAllSync(Deno.stderr, msg + "\n");
  }

  /** Writes out buffered info lines. */
  flush(): void {
    if (this.#lines.length === 0) return;
    writeAllSync(Deno.stdout, this.#lines.join("\n") + "\n");
    this.#lines = [];
  }

  /** Flushes everything, including syslog. */
  async close(): Promise<void> {
    this.flush();
    await this.#syslog?.close();
  }
}
