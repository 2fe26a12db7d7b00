/**
 * Where stream bytes go: a file, a pipe, stdout, a socket or a Web
 * `WritableStream`, behind one `write(bytes)` call that writes everything.
 *
 * @module
 */

import { parseFd } from "./byte_source.ts";

/** A destination for bytes. */
export interface ByteSink {
  /** Writes all of `bytes` (looping over short writes). */
  write(bytes: Uint8Array): Promise<void>;
  /** Flushes and releases the destination. */
  close(): Promise<void>;
}

/** Anything with Deno's `write(p)` shape: `Deno.FsFile`, `Deno.stdout`, `Deno.Conn`. */
export interface DenoWriter {
  /** Writes some prefix of `p`; resolves to the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the resource. */
  close?(): void;
}

/**
 * Wraps a Deno writer, looping until each buffer is fully written.
 *
 * @example
 * ```ts
 * import { writerSink } from "./byte_sink.ts";
 * const path = await Deno.makeTempFile();
 * const sink = writerSink(await Deno.open(path, { write: true }));
 * await sink.write(new Uint8Array([1, 2, 3]));
 * await sink.close();
 * console.assert((await Deno.readFile(path)).length === 3);
 * await Deno.remove(path);
 * ```
 */
export function writerSink(writer: DenoWriter, closeIt = true): ByteSink {
  return {
    async write(bytes) {
      let done = 0;
      while (done < bytes.length) done += await writer.write(bytes.subarray(done));
    },
    close() {
      if (closeIt) {
        try {
          writer.close?.();
        } catch {
          // Already closed: nothing to release.
        }
      }
      return Promise.resolve();
    },
  };
}

/**
 * Wraps a Web `WritableStream`.  Each buffer is copied, because a writable
 * stream may hold on to chunks after `write` resolves while callers reuse
 * theirs.
 *
 * @example
 * ```ts
 * import { writableSink } from "./byte_sink.ts";
 * const chunks: Uint8Array[] = [];
 * const sink = writableSink(new WritableStream({ write: (c) => { chunks.push(c); } }));
 * await sink.write(new Uint8Array([9]));
 * await sink.close();
 * console.assert(chunks.length === 1 && chunks[0][0] === 9);
 * ```
 */
export function writableSink(stream: WritableStream<Uint8Array>): ByteSink {
  const writer = stream.getWriter();
  return {
    write: (bytes) => writer.write(bytes.slice()),
    close: () => writer.close(),
  };
}

/**
 * Collects bytes in memory (tests, small streams).
 *
 * @example
 * ```ts
 * import { memorySink } from "./byte_sink.ts";
 * const sink = memorySink();
 * await sink.write(new Uint8Array([1]));
 * await sink.write(new Uint8Array([2, 3]));
 * console.assert(sink.bytes().length === 3);
 * ```
 */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  let size = 0;
  return {
    write(bytes) {
      parts.push(bytes.slice());
      size += bytes.length;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    bytes() {
      const out = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}

/**
 * Opens an output named the way Xen's tools name them: a decimal number is a
 * file descriptor (`1` is stdout), anything else a path (created or
 * truncated — use {@linkcode AtomicFile} when a failure must leave nothing).
 */
export async function openOutput(spec: string): Promise<ByteSink> {
  const fd = parseFd(spec);
  if (fd === 1) return writerSink(Deno.stdout, false);
  if (fd === 2) return writerSink(Deno.stderr, false);
  const file = fd !== undefined
    ? await Deno.open(`/dev/fd/${fd}`, { write: true })
    : await Deno.open(spec, { write: true, create: true, truncate: true });
  const info = await file.stat();
  return info.isFile || info.isCharDevice ? fileSink(file) : writerSink(file);
}

/**
 * Writes a regular file (or a character device such as /dev/null) with
 * synchronous writes: no thread-pool round trip per call.
 *
 * @example
 * ```ts
 * import { fileSink } from "./byte_sink.ts";
 * const path = await Deno.makeTempFile();
 * const sink = fileSink(await Deno.open(path, { write: true }));
 * await sink.write(new Uint8Array(3));
 * await sink.close();
 * console.assert((await Deno.stat(path)).size === 3);
 * await Deno.remove(path);
 * ```
 */
export function fileSink(file: Deno.FsFile): ByteSink {
  return {
    write(bytes) {
      let done = 0;
      while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
      return Promise.resolve();
    },
    close() {
      try {
        file.close();
      } catch {
        // Already closed.
      }
      return Promise.resolve();
    },
  };
}
