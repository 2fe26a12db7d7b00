/**
 * Loading the three Xen libraries (or the simulator standing in for all of
 * them) and reading errno.  Internal to the bindings.
 *
 * @module
 */

import { pathExists, pathKind } from "../io/path_exists.ts";
import { XenError } from "./errors.ts";
import {
  FOREIGNMEMORY_SYMBOLS,
  LIBC_SYMBOLS,
  XENCTRL_SYMBOLS,
  XENGUEST_SYMBOLS,
  XENSTORE_SYMBOLS,
} from "./symbols.ts";

/** `dir/name` (node:path would add its load time to every command). */
function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** `POLLIN` (`poll.h`). */
const POLLIN = 1;

/** Which implementation answers the calls. */
export type Backend = "xen" | "sim";

/** Sonames of the real libraries (Xen 4.17, as Debian ships them). */
export const XEN_SONAMES = {
  xenctrl: "libxenctrl.so.4.17",
  xenguest: "libxenguest.so.4.17",
  foreignMemory: "libxenforeignmemory.so.1",
  xenstore: "libxenstore.so.4",
} as const;

/**
 * Dependencies of libxenctrl/libxenguest in load order.  Loading them by
 * full path first lets the dynamic loader satisfy `DT_NEEDED` from an
 * unpacked package directory without `LD_LIBRARY_PATH`, which a running
 * process cannot change for itself.
 */
const PRELOAD = [
  "libxentoolcore.so.1",
  "libxentoollog.so.1",
  "libxencall.so.1",
  "libxenevtchn.so.1",
  "libxengnttab.so.1",
  "libxenforeignmemory.so.1",
  "libxendevicemodel.so.1",
];

/** Paths to open for one backend. */
export interface LibraryPaths {
  /** libxenctrl (or the simulator). */
  xenctrl: string;
  /** libxenguest (or the simulator). */
  xenguest: string;
  /** libxenforeignmemory (or the simulator). */
  foreignMemory: string;
  /** libxenstore (or the simulator). */
  xenstore: string;
  /** Dependencies to load first, by full path. */
  preload: string[];
}

/**
 * Paths of the real libraries: by soname from the system when `library`
 * is absent, else from `library` (a directory, or the path of
 * libxenctrl.so.4.17 whose siblings are used).
 *
 * @example
 * ```ts
 * import { xenLibraryPaths } from "./library.ts";
 * console.log(xenLibraryPaths().xenctrl); // "libxenctrl.so.4.17"
 * ```
 */
export function xenLibraryPaths(library?: string): LibraryPaths {
  if (library === undefined) {
    return { ...XEN_SONAMES, preload: [] };
  }
  const dir = pathKind(library) === "directory"
    ? library
    : library.slice(0, Math.max(library.lastIndexOf("/"), 0)) ||
      (library.startsWith("/") ? "/" : ".");
  const xenctrl = dir === library ? join(dir, XEN_SONAMES.xenctrl) : library;
  return {
    xenctrl,
    xenguest: join(dir, XEN_SONAMES.xenguest),
    foreignMemory: join(dir, XEN_SONAMES.foreignMemory),
    xenstore: join(dir, XEN_SONAMES.xenstore),
    preload: PRELOAD.map((name) => join(dir, name)).filter(pathExists),
  };
}

/**
 * Paths when the simulator answers for all three libraries.
 *
 * @example
 * ```ts
 * import { simLibraryPaths } from "./library.ts";
 * console.log(simLibraryPaths("/x/libxenctrl-sim.so").xenguest); // "/x/libxenctrl-sim.so"
 * ```
 */
export function simLibraryPaths(path: string): LibraryPaths {
  return { xenctrl: path, xenguest: path, foreignMemory: path, xenstore: path, preload: [] };
}

/** A library's functions, typed as `Deno.dlopen` types them. */
export interface BoundLibrary<S extends Deno.ForeignLibraryInterface> {
  /** The functions, bound on first use. */
  readonly symbols: Deno.StaticForeignLibraryInterface<S>;
  /** Binds every symbol not bound yet. */
  bindAll(): void;
  /** Unloads what was bound. */
  close(): void;
}

function dlopen<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(path, symbols);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new XenError("dlopen", 2, { subject: path, reason: msg });
  }
}

/**
 * Opens `path`, binding each of `symbols` on its first use.  Deno compiles
 * a call trampoline per synchronous symbol at `dlopen` (0.2-0.5 ms each
 * natively; about 8 ms each in the lab's emulated dom0, where binding all
 * 61 took half a second of every command although a save calls about
 * 30).  Every symbol's presence is still checked here, by binding them all
 * as nonblocking, which compiles nothing; that handle keeps the library
 * loaded until {@linkcode BoundLibrary.close}.
 */
function open<S extends Deno.ForeignLibraryInterface>(path: string, symbols: S): BoundLibrary<S> {
  const asNonblocking = Object.fromEntries(
    Object.entries(symbols).map(([name, def]) => [name, { ...def, nonblocking: true }]),
  ) as Deno.ForeignLibraryInterface;
  const handles: { close(): void }[] = [dlopen(path, asNonblocking)];
  const bound: Record<string, unknown> = {};
  for (const name of Object.keys(symbols)) {
    Object.defineProperty(bound, name, {
      configurable: true,
      enumerable: true,
      get() {
        const lib = dlopen(path, { [name]: symbols[name] });
        handles.push(lib);
        const fn = lib.symbols[name];
        Object.defineProperty(bound, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return {
    symbols: bound as Deno.StaticForeignLibraryInterface<S>,
    bindAll() {
      for (const name of Object.keys(symbols)) void bound[name];
    },
    close() {
      for (const h of handles.reverse()) h.close();
      handles.length = 0;
    },
  };
}

/** The opened libraries. */
export interface XenLibraries {
  /** libxenctrl symbols. */
  readonly ctrl: BoundLibrary<typeof XENCTRL_SYMBOLS>;
  /** libxenguest symbols (CPU policy). */
  readonly guest: BoundLibrary<typeof XENGUEST_SYMBOLS>;
  /** libxenforeignmemory symbols. */
  readonly fmem: BoundLibrary<typeof FOREIGNMEMORY_SYMBOLS>;
  /** libxenstore symbols. */
  readonly store: BoundLibrary<typeof XENSTORE_SYMBOLS>;
  /** libc `free`, for what libxenstore returns. */
  free(p: Deno.PointerValue): void;
  /**
   * The calling thread's errno.  Read right after the failing call:
   * nothing between an FFI return and this read makes a failing syscall.
   */
  errno(): number;
  /**
   * Waits, on a worker thread, until `fd` is readable or `timeoutMs` has
   * passed (`poll(2)`); resolves to whether it is readable.
   */
  waitReadable(fd: number, timeoutMs: number): Promise<boolean>;
  /**
   * Binds every symbol now: for callers about to stop a guest, so that
   * none is compiled in its downtime.
   */
  bindAll(): void;
  /** Unloads everything this opened. */
  close(): void;
}

/**
 * Opens the libraries at `paths`; a missing library or symbol is a
 * {@linkcode XenError} naming the path.
 */
export function loadXenLibraries(paths: LibraryPaths): XenLibraries {
  const held: { bindAll(): void; close(): void }[] = [];
  try {
    for (const dep of paths.preload) held.push(open(dep, {}));
    const ctrl = open(paths.xenctrl, XENCTRL_SYMBOLS);
    held.push(ctrl);
    const fmem = open(paths.foreignMemory, FOREIGNMEMORY_SYMBOLS);
    held.push(fmem);
    const guest = open(paths.xenguest, XENGUEST_SYMBOLS);
    held.push(guest);
    const store = open(paths.xenstore, XENSTORE_SYMBOLS);
    held.push(store);
    // errno is thread-local libc state, reached through __errno_location.
    const libc = open("libc.so.6", LIBC_SYMBOLS);
    held.push(libc);
    return {
      ctrl,
      guest,
      fmem,
      store,
      free(p) {
        if (p !== null) libc.symbols.free(p);
      },
      errno() {
        const p = libc.symbols.__errno_location();
        return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
      },
      async waitReadable(fd, timeoutMs) {
        // struct pollfd { int fd; short events; short revents; }
        const pfd = new Int32Array(2);
        pfd[0] = fd;
        const shorts = new Int16Array(pfd.buffer);
        shorts[2] = POLLIN;
        const n = await libc.symbols.poll(new Uint8Array(pfd.buffer), 1n, Math.ceil(timeoutMs));
        // n < 0 (EINTR): report nothing; callers wait again.
        return n > 0 && (shorts[3] & POLLIN) !== 0;
      },
      bindAll() {
        for (const lib of held) lib.bindAll();
      },
      close() {
        for (const lib of held.reverse()) lib.close();
      },
    };
  } catch (e) {
    for (const lib of held.reverse()) lib.close();
    throw e;
  }
}
