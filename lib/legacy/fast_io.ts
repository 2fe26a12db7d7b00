/**
 * I/O tuning that lets a conversion run at pipe and disk speed:
 *
 * - {@linkcode enlargePipe}: a pipe's kernel buffer is 64 KiB, so a 4 MiB
 *   page batch takes 64 reads and 64 writes, each a round trip through the
 *   runtime; at 1 MiB (`F_SETPIPE_SZ`) it takes a handful.
 * - {@linkcode WritebackSink}: an atomic output is `fsync`ed before it is
 *   renamed into place.  Left to the end, that writes the whole file to disk
 *   after the conversion; started early (`fdatasync` in the background every
 *   few dozen MiB), the disk writes overlap the conversion and the final
 *   `fsync` has little left to do.
 *
 * Both are best effort: without FFI permission, or on something that is not
 * a pipe, nothing changes.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { ByteSink } from "../io/byte_sink.ts";

/** `F_SETPIPE_SZ` from `<fcntl.h>` (Linux). */
const F_SETPIPE_SZ = 1031;

/** Pipe buffer size asked for: Linux's default `pipe-max-size` for unprivileged users. */
export const PIPE_BUFFER_SIZE = 1 << 20;

let fcntl: ((fd: number, cmd: number, arg: number) => number) | null | undefined;

/**
 * Asks the kernel for a `size`-octet buffer on pipe `fd`; returns the size
 * granted, or 0 when `fd` is no pipe or FFI is not permitted.
 *
 * @example
 * ```ts
 * import { enlargePipe } from "./fast_io.ts";
 * console.assert(enlargePipe(-1) === 0); // Not a pipe (not even a descriptor).
 * ```
 */
export function enlargePipe(fd: number, size = PIPE_BUFFER_SIZE): number {
  if (fcntl === undefined) {
    try {
      const lib = Deno.dlopen("libc.so.6", {
        fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
      });
      fcntl = (f, c, a) => lib.symbols.fcntl(f, c, a);
    } catch {
      fcntl = null; // No FFI permission, or no glibc: keep the default buffer.
    }
  }
  if (!fcntl) return 0;
  const granted = fcntl(fd, F_SETPIPE_SZ, size);
  return granted > 0 ? granted : 0;
}

/** Start writeback after this many octets by default. */
export const WRITEBACK_INTERVAL = 32 << 20;

/**
 * Passes writes to `inner`, and every `interval` octets starts writing the
 * file at `path` back to disk in the background (one `fdatasync` at a
 * time, on a handle of its own).  {@linkcode WritebackSink.settle} waits for
 * the one in flight.
 *
 * @example
 * ```ts
 * import { WritebackSink } from "./fast_io.ts";
 * import { writerSink } from "../io/byte_sink.ts";
 * const path = await Deno.makeTempFile();
 * const sink = await WritebackSink.open(writerSink(await Deno.open(path, { write: true })), path, 4);
 * await sink.write(new Uint8Array(10));
 * await sink.settle();
 * await sink.close();
 * console.assert((await Deno.readFile(path)).length === 10);
 * await Deno.remove(path);
 * ```
 */
export class WritebackSink implements ByteSink {
  #inner: ByteSink;
  #file: Deno.FsFile;
  #interval: number;
  #pending = 0;
  #inflight: Promise<void> | undefined;

  private constructor(inner: ByteSink, file: Deno.FsFile, interval: number) {
    this.#inner = inner;
    this.#file = file;
    this.#interval = interval;
  }

  /** Wraps `inner`, which writes the file at `path`. */
  static async open(
    inner: ByteSink,
    path: string,
    interval = WRITEBACK_INTERVAL,
  ): Promise<WritebackSink> {
    return new WritebackSink(inner, await Deno.open(path, { read: true }), interval);
  }

  /** Writes `bytes` through, then starts writeback when due. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.#inner.write(bytes);
    this.#pending += bytes.length;
    if (this.#pending >= this.#interval && !this.#inflight) {
      this.#pending = 0;
      this.#inflight = this.#file.syncData().catch(() => {}).finally(() => {
        this.#inflight = undefined;
      });
    }
  }

  /** Waits for the writeback in flight, if any. */
  async settle(): Promise<void> {
    await this.#inflight;
  }

  /** Waits for writeback, releases its handle and closes `inner`. */
  async close(): Promise<void> {
    await this.settle();
    this.#file.close();
    await this.#inner.close();
  }

  /** Waits for writeback and releases its handle, leaving `inner` open. */
  async release(): Promise<void> {
    await this.settle();
    try {
      this.#file.close();
    } catch {
      // Released already.
    }
  }
}

/**
 * The temporary file `AtomicFile.create(target)` made in this process:
 * `.<name>.<pid>.<random>.tmp` beside the target.  `undefined` unless
 * exactly one matches (then early writeback is simply skipped).
 *
 * @example
 * ```ts
 * import { atomicTempPath } from "./fast_io.ts";
 * import { AtomicFile } from "../io/atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * const out = await AtomicFile.create(`${dir}/out.bin`);
 * console.assert((await atomicTempPath(`${dir}/out.bin`))?.endsWith(".tmp"));
 * await out.abort();
 * console.assert(await atomicTempPath(`${dir}/out.bin`) === undefined);
 * await Deno.remove(dir);
 * ```
 */
export async function atomicTempPath(target: string): Promise<string | undefined> {
  const dir = dirname(target);
  const prefix = `.${basename(target)}.${Deno.pid}.`;
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".tmp")) {
      found.push(join(dir, e.name));
    }
  }
  return found.length === 1 ? found[0] : undefined;
}
