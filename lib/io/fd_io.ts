/**
 * Reading and writing inherited file descriptors of any kind — including
 * sockets, which `/dev/fd/N` cannot reopen — through libc's `read(2)` and
 * `write(2)` over Deno FFI, on a worker thread (`nonblocking`) so the event
 * loop keeps running.  Used for `-i N` / `-o N` / `fd:N` when the descriptor
 * is not a file or pipe.
 *
 * @module
 */

import type { ByteSink } from "./byte_sink.ts";
import type { ByteSource } from "./byte_source.ts";

let libc:
  | Deno.DynamicLibrary<{
    read: { parameters: ["i32", "buffer", "usize"]; result: "isize"; nonblocking: true };
    write: { parameters: ["i32", "buffer", "usize"]; result: "isize"; nonblocking: true };
    close: { parameters: ["i32"]; result: "i32" };
  }>
  | undefined;

function lib() {
  libc ??= Deno.dlopen("libc.so.6", {
    read: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
    close: { parameters: ["i32"], result: "i32" },
  });
  return libc.symbols;
}

/** An I/O error on a raw descriptor. */
export class FdError extends Error {
  /** Creates an error for `call` on `fd`. */
  constructor(call: string, fd: number) {
    super(`${call}(fd ${fd}) failed`);
    this.name = "FdError";
  }
}

/**
 * Reads descriptor `fd` (which stays open until `close`).
 *
 * @example
 * ```ts ignore
 * import { fdSource } from "./fd_io.ts";
 * const src = fdSource(3); // a socket passed by the parent
 * ```
 */
export function fdSource(fd: number): ByteSource {
  return {
    async read(into) {
      const n = Number(await lib().read(fd, into, BigInt(into.length)));
      if (n < 0) throw new FdError("read", fd);
      return n === 0 ? null : n;
    },
    close() {
      lib().close(fd);
    },
  };
}

/** Writes descriptor `fd`, looping over short writes. */
export function fdSink(fd: number): ByteSink {
  return {
    async write(bytes) {
      let done = 0;
      while (done < bytes.length) {
        // FFI needs a buffer it can pin; subarrays of a larger buffer are fine.
        const n = Number(await lib().write(fd, bytes.subarray(done), BigInt(bytes.length - done)));
        if (n < 0) throw new FdError("write", fd);
        done += n;
      }
    },
    close() {
      lib().close(fd);
      return Promise.resolve();
    },
  };
}
