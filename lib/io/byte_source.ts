/**
 * Where stream bytes come from: a file, a pipe, stdin, a Web
 * `ReadableStream` or bytes in memory, behind one `read(into)` call that
 * fills a caller-owned buffer (so the reader can reuse its buffers and avoid
 * per-chunk allocations).
 *
 * @module
 */

/**
 * A source of bytes.  `read` fills a prefix of `into` and resolves to the
 * number of bytes written, or `null` at end of input.  Short reads are normal
 * (pipes, sockets); callers loop.
 */
export interface ByteSource {
  /** Reads up to `into.length` bytes; `null` means end of input. */
  read(into: Uint8Array): Promise<number | null>;
  /** Releases the underlying resource. */
  close(): void;
}

/** Anything with Deno's `read(p)` shape: `Deno.FsFile`, `Deno.stdin`, `Deno.Conn`. */
export interface DenoReader {
  /** Reads into `p`; `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /** Closes the resource. */
  close?(): void;
}

/**
 * Wraps a Deno reader (`Deno.FsFile`, `Deno.stdin`, a `Deno.Conn`).  Bytes go
 * straight into the caller's buffer: no intermediate copy.
 *
 * @example
 * ```ts
 * import { readerSource } from "./byte_source.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
 * const src = readerSource(await Deno.open(path));
 * const buf = new Uint8Array(8);
 * console.assert(await src.read(buf) === 3);
 * console.assert(await src.read(buf) === null);
 * src.close();
 * await Deno.remove(path);
 * ```
 */
export function readerSource(reader: DenoReader): ByteSource {
  let closed = false;
  return {
    read: (into) => reader.read(into),
    close() {
      if (closed) return;
      closed = true;
      try {
        reader.close?.();
      } catch {
        // Already closed by its owner (e.g. stdin): nothing to release.
      }
    },
  };
}

/**
 * Wraps a Web `ReadableStream` of byte chunks.  A chunk larger than the
 * caller's buffer is handed out over several reads.
 *
 * @example
 * ```ts
 * import { readableSource } from "./byte_source.ts";
 * const src = readableSource(ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])]));
 * const buf = new Uint8Array(1);
 * console.assert(await src.read(buf) === 1 && buf[0] === 1);
 * console.assert(await src.read(new Uint8Array(8)) === 1); // the rest of chunk 1
 * console.assert(await src.read(new Uint8Array(8)) === 1);
 * console.assert(await src.read(new Uint8Array(8)) === null);
 * ```
 */
export function readableSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let pending: Uint8Array | null = null;
  return {
    async read(into) {
      while (pending === null || pending.length === 0) {
        const { value, done } = await reader.read();
        if (done) return null;
        pending = value;
      }
      const n = Math.min(into.length, pending.length);
      into.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
    close() {
      reader.cancel().catch(() => {});
    },
  };
}

/**
 * Serves bytes already in memory (tests, fixtures).
 *
 * @example
 * ```ts
 * import { bytesSource } from "./byte_source.ts";
 * const src = bytesSource(new Uint8Array([7, 8, 9]));
 * const buf = new Uint8Array(2);
 * console.assert(await src.read(buf) === 2 && buf[1] === 8);
 * ```
 */
export function bytesSource(bytes: Uint8Array): ByteSource {
  let pos = 0;
  return {
    read(into) {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

/**
 * Opens an input named the way Xen's tools name them: a decimal number is a
 * file descriptor (`0` is stdin), anything else a path.
 *
 * @example
 * ```ts
 * import { openInput } from "./byte_source.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hi");
 * const src = await openInput(path);
 * console.assert(await src.read(new Uint8Array(4)) === 2);
 * src.close();
 * await Deno.remove(path);
 * ```
 */
export async function openInput(
  spec: string,
  options: { blocking?: boolean } = {},
): Promise<ByteSource> {
  const fd = parseFd(spec);
  if (fd === 0) return options.blocking ? syncSource(Deno.stdin) : readerSource(Deno.stdin);
  const file = await Deno.open(fd === undefined ? spec : `/dev/fd/${fd}`, { read: true });
  const info = await file.stat();
  if (info.isDirectory) {
    // Opening succeeds on Linux, but every read would fail: say so now.
    file.close();
    throw new Deno.errors.IsADirectory("Is a directory");
  }
  // Regular files never block for long, so they are read synchronously:
  // an async read is a round trip through a thread pool, which costs ~20%
  // of throughput on page-cached files.  Pipes and sockets stay async unless
  // the caller has nothing else to do while it waits (`blocking`).
  return info.isFile || options.blocking ? fileSource(file) : readerSource(file);
}

/**
 * Reads stdin (or any synchronous reader) with blocking reads: for tools
 * that do nothing else while they wait, where a thread-pool round trip per
 * pipe-sized read would dominate.
 */
export function syncSource(
  reader: { readSync(p: Uint8Array): number | null; close?(): void },
): ByteSource {
  return {
    read: (into) => Promise.resolve(reader.readSync(into)),
    close() {
      try {
        reader.close?.();
      } catch {
        // Already closed by its owner.
      }
    },
  };
}

/**
 * Reads a regular file with synchronous reads (no thread-pool round trip).
 *
 * @example
 * ```ts
 * import { fileSource } from "./byte_source.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array(5));
 * const src = fileSource(await Deno.open(path));
 * console.assert(await src.read(new Uint8Array(8)) === 5);
 * src.close();
 * await Deno.remove(path);
 * ```
 */
export function fileSource(file: Deno.FsFile): ByteSource {
  return syncSource(file);
}

/** Xen's `open_file_or_fd` rule: an all-decimal string names a descriptor. */
export function parseFd(spec: string): number | undefined {
  return /^\s*[+]?\d+\s*$/.test(spec) ? Number.parseInt(spec, 10) : undefined;
}
