/**
 * The few libc calls the converter's descriptor I/O needs, over Deno FFI:
 * `read`, `write`, `splice` and `copy_file_range` (page data moved from
 * input to output inside the kernel, never copied through the process),
 * `pipe2` (a private pipe to splice file to file through) and
 * `fcntl(F_SETPIPE_SZ)` (1 MiB pipe buffers).  Linux and glibc only; {@linkcode libc} is `null`
 * elsewhere or without FFI permission, and callers fall back to Deno's I/O.
 *
 * @module
 */

/**
 * `O_RDONLY | O_CLOEXEC`, for {@linkcode openFd}.
 *
 * @example
 * ```ts
 * import { O_RDONLY } from "./libc.ts";
 * console.assert((O_RDONLY & 3) === 0);
 * ```
 */
export const O_RDONLY = 0o2000000;
/**
 * `O_WRONLY | O_CLOEXEC`, for {@linkcode openFd}: no `O_CREAT`, the file
 * must exist (an atomic output's temporary file does).
 *
 * @example
 * ```ts
 * import { O_WRONLY } from "./libc.ts";
 * console.assert((O_WRONLY & 3) === 1);
 * ```
 */
export const O_WRONLY = 0o2000001;
/** `O_CLOEXEC`, for {@linkcode openPipe}. */
const O_CLOEXEC = 0o2000000;
/** `F_SETPIPE_SZ`. */
const F_SETPIPE_SZ = 1031;
/**
 * `SPLICE_F_MOVE | SPLICE_F_MORE`.
 *
 * @example
 * ```ts
 * import { SPLICE_FLAGS } from "./libc.ts";
 * console.assert(SPLICE_FLAGS === 5);
 * ```
 */
export const SPLICE_FLAGS = 1 | 4;
/** `POLLIN`, `POLLOUT`. */
const POLLIN = 1, POLLOUT = 4;

/**
 * errno values the callers act on (x86-64 Linux).
 *
 * @example
 * ```ts
 * import { ERRNO } from "./libc.ts";
 * console.assert(ERRNO.EPIPE === 32);
 * ```
 */
export const ERRNO = {
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EXDEV: 18,
  EINVAL: 22,
  ESPIPE: 29,
  EPIPE: 32,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const;

const SYMBOLS = {
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  splice: { parameters: ["i32", "pointer", "i32", "pointer", "usize", "u32"], result: "isize" },
  copy_file_range: {
    parameters: ["i32", "pointer", "i32", "pointer", "usize", "u32"],
    result: "isize",
  },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The bound libc functions. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let bound: Libc | null | undefined;

/**
 * libc, or `null` when FFI is not permitted or there is no glibc.
 *
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * const c = libc();
 * console.assert(c === null || typeof c.read === "function");
 * ```
 */
export function libc(): Libc | null {
  if (bound === undefined) {
    try {
      bound = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    } catch {
      bound = null;
    }
  }
  return bound;
}

/**
 * `errno` of the last failed call on this thread.
 *
 * @example
 * ```ts
 * import { ERRNO, errno, libc } from "./libc.ts";
 * const c = libc();
 * if (c) {
 *   c.close(-1); // EBADF
 *   console.assert(errno(c) === ERRNO.EBADF);
 * }
 * ```
 */
export function errno(c: Libc): number {
  const p = c.__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/**
 * A failed libc call: which call, on which descriptor, and `strerror`'s
 * text for `errno`.
 *
 * @example
 * ```ts
 * import { FdError } from "./libc.ts";
 * const e = new FdError("write", 1, 32, "Broken pipe");
 * console.assert(e.message === "write(fd 1): Broken pipe" && e.errno === 32);
 * ```
 */
export class FdError extends Error {
  /** The `errno` value. */
  readonly errno: number;
  /** `strerror`'s text alone. */
  readonly reason: string;

  /** Creates the error for `call` on `fd`. */
  constructor(call: string, fd: number, errnoValue: number, text: string) {
    super(`${call}(fd ${fd}): ${text}`);
    this.name = "FdError";
    this.errno = errnoValue;
    this.reason = text;
  }
}

/**
 * Throws {@linkcode FdError} for `e` (by default the current `errno`).
 *
 * @example
 * ```ts
 * import { fail, FdError, libc } from "./libc.ts";
 * const c = libc();
 * if (c) {
 *   let reason = "";
 *   try {
 *     fail(c, "write", 1, 32);
 *   } catch (e) {
 *     reason = (e as FdError).reason;
 *   }
 *   console.assert(reason === "Broken pipe");
 * }
 * ```
 */
export function fail(c: Libc, call: string, fd: number, e = errno(c)): never {
  const p = c.strerror(e);
  throw new FdError(call, fd, e, p ? Deno.UnsafePointerView.getCString(p) : `errno ${e}`);
}

/**
 * Waits until `fd` is readable (or writable): for descriptors left
 * non-blocking by whoever passed them.
 *
 * @example
 * ```ts
 * import { libc, O_RDONLY, openFd, waitFor } from "./libc.ts";
 * const c = libc();
 * if (c) {
 *   const fd = openFd(c, "/dev/zero", O_RDONLY);
 *   await waitFor(c, fd, false); // Always readable: returns at once.
 *   c.close(fd);
 * }
 * ```
 */
export async function waitFor(c: Libc, fd: number, write: boolean): Promise<void> {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, write ? POLLOUT : POLLIN, true);
  // Wait in short slices and yield between them: a blocking poll(2) would
  // hold the event loop, and with it Ctrl-C's cleanup, for as long as a
  // stalled pipe stays silent.
  // A signal interrupts poll(2) itself (-1, EINTR): that is not readiness.
  while (c.poll(pfd, 1n, WAIT_SLICE_MS) <= 0) await new Promise((r) => setTimeout(r, 0));
}

/** How long one poll(2) may block before the event loop gets a turn, ms. */
const WAIT_SLICE_MS = 20;

/**
 * Opens `path` with `flags` ({@linkcode O_RDONLY} / {@linkcode O_WRONLY});
 * throws {@linkcode FdError}.
 *
 * @example
 * ```ts
 * import { libc, O_RDONLY, openFd } from "./libc.ts";
 * const c = libc();
 * if (c) {
 *   const fd = openFd(c, "/dev/null", O_RDONLY);
 *   console.assert(fd >= 0);
 *   c.close(fd);
 * }
 * ```
 */
export function openFd(c: Libc, path: string, flags: number): number {
  const fd = c.open(new TextEncoder().encode(path + "\0"), flags);
  if (fd < 0) fail(c, `open ${path}`, -1);
  return fd;
}

/**
 * A new pipe, `[read end, write end]`, both close-on-exec and blocking;
 * throws {@linkcode FdError}.
 *
 * @example
 * ```ts
 * import { libc, openPipe } from "./libc.ts";
 * const c = libc();
 * if (c) {
 *   const [r, w] = openPipe(c);
 *   console.assert(c.write(w, new Uint8Array([7]), 1n) === 1n);
 *   const b = new Uint8Array(1);
 *   console.assert(c.read(r, b, 1n) === 1n && b[0] === 7);
 *   c.close(r);
 *   c.close(w);
 * }
 * ```
 */
export function openPipe(c: Libc): [number, number] {
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) < 0) fail(c, "pipe2", -1);
  return [fds[0], fds[1]];
}

/**
 * Pipe buffer size asked for: Linux's default `pipe-max-size` for
 * unprivileged users.
 *
 * @example
 * ```ts
 * import { PIPE_BUFFER_SIZE } from "./libc.ts";
 * console.assert(PIPE_BUFFER_SIZE === 1 << 20);
 * ```
 */
export const PIPE_BUFFER_SIZE = 1 << 20;

/**
 * Asks for a `size`-octet kernel buffer on pipe `fd` (a 4 MiB page batch
 * then crosses in a handful of calls instead of 64); returns the size
 * granted, or 0 when `fd` is no pipe or FFI is unavailable.
 *
 * @example
 * ```ts
 * import { enlargePipe } from "./libc.ts";
 * console.assert(enlargePipe(-1) === 0); // Not a pipe (not even a descriptor).
 * ```
 */
export function enlargePipe(fd: number, size = PIPE_BUFFER_SIZE): number {
  const granted = libc()?.fcntl(fd, F_SETPIPE_SZ, size) ?? 0;
  return granted > 0 ? granted : 0;
}
