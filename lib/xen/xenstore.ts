/**
 * xenstore through libxenstore (`xenstore.h`), or the simulator's store:
 * the tree the toolstack, the guest's PV drivers and the backends share.
 * The engine uses it to ask a guest to suspend (`control/shutdown`), to
 * name, rename and remove domains, and to introduce a restored domain to
 * xenstored.  Obtain it as `hypervisor.xenstore`.
 *
 * @module
 */

import { XenError } from "./errors.ts";
import type { XenLibraries } from "./library.ts";

/** `XBT_NULL`: outside any transaction. */
export const XBT_NULL = 0;

/** `XS_PERM_*` (`xenstore_lib.h`). */
export const XS_PERM = { NONE: 0, READ: 1, WRITE: 2, BOTH: 3 } as const;

/** One `struct xs_permissions` entry: the first names the owner and everyone's default. */
export interface XsPermission {
  /** Domain. */
  id: number;
  /** {@linkcode XS_PERM} bits. */
  perms: number;
}

const ENOENT = 2;
const EAGAIN = 11;
const EINVAL = 22;
const EBADF = 9;
/** Attempts at a transaction that keeps conflicting (libxl retries without bound). */
const TRANSACTION_ATTEMPTS = 16;
/** xenstored's path length limit (`XENSTORE_ABS_PATH_MAX`). */
const XENSTORE_ABS_PATH_MAX = 3072;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `s` as a NUL-terminated C string. */
function cString(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s + "\0");
}

/** An absolute node path as a C string; anything else is refused (EINVAL). */
function nodePath(path: string): Uint8Array<ArrayBuffer> {
  if (!path.startsWith("/") || path.length > XENSTORE_ABS_PATH_MAX || path.includes("\0")) {
    throw new XenError("xenstore", EINVAL, {
      subject: path,
      reason: "not an absolute xenstore path",
    });
  }
  return cString(path);
}

/** A path to watch: a node (absolute) or a special path such as `@releaseDomain`. */
function watchPath(path: string): Uint8Array<ArrayBuffer> {
  return /^@[A-Za-z]+$/.test(path) ? cString(path) : nodePath(path);
}

/** One fired watch. */
export interface WatchEvent {
  /** The path that changed (the special path itself for `@...` watches). */
  path: string;
  /** The token the watch was registered with. */
  token: string;
}

/**
 * An open xenstore connection.  Every method is one libxenstore call and
 * throws a {@linkcode XenError} naming it on failure, except that a missing
 * node reads as `undefined` (and `rm` of one returns false).
 *
 * @example Write, read and list nodes (simulator)
 * ```ts
 * import { openHypervisor } from "./open.ts";
 * using s = await openHypervisor({ sim: "mem=64M" });
 * const xs = s.hv.xenstore;
 * xs.write("/example/a", "1");
 * console.log(xs.read("/example/a")); // "1"
 * console.log(xs.directory("/example")); // ["a"]
 * console.log(xs.rm("/example"), xs.read("/example/a")); // true undefined
 * ```
 */
export class XenStore implements Disposable {
  #libs: XenLibraries;
  #h: Deno.PointerObject | null;
  /** `xs_fileno`, once asked for. */
  #fd?: number;

  /** @internal Opened by `Hypervisor`; throws when xenstored is unreachable. */
  constructor(libs: XenLibraries) {
    this.#libs = libs;
    const h = libs.store.symbols.xs_open(0n);
    if (h === null) {
      throw new XenError("xs_open", libs.errno() || ENOENT, {
        reason: "cannot reach xenstored (is it running, and is this dom0?)",
      });
    }
    this.#h = h;
  }

  #handle(call: string, subject?: string): Deno.PointerObject {
    if (this.#h === null) {
      throw new XenError(call, EBADF, { subject, reason: "xenstore is closed" });
    }
    return this.#h;
  }

  #fail(call: string, subject: string): never {
    throw new XenError(call, this.#libs.errno() || EINVAL, { subject });
  }

  /** After a failed call: ENOENT is "no such node" (false); any other errno throws. */
  #absent(call: string, path: string): false {
    const errno = this.#libs.errno();
    if (errno === ENOENT) return false;
    throw new XenError(call, errno || EINVAL, { subject: path });
  }

  /**
   * `xs_read` / `xs_directory`: a malloc'd result and a count, converted
   * by `convert` and freed; `undefined` when there is no such node.
   */
  #fetch<T>(
    call: "xs_read" | "xs_directory",
    path: string,
    t: number,
    convert: (p: Deno.PointerObject, count: number) => T,
  ): T | undefined {
    const count = new Uint32Array(1);
    const p = this.#libs.store.symbols[call](
      this.#handle(call, path),
      t,
      nodePath(path),
      new Uint8Array(count.buffer),
    );
    if (p === null) return this.#absent(call, path) || undefined;
    try {
      return convert(p, count[0]);
    } finally {
      this.#libs.free(p);
    }
  }

  /** The value at `path` (UTF-8), or `undefined` when there is no such node. */
  read(path: string, t = XBT_NULL): string | undefined {
    return this.#fetch("xs_read", path, t, (p, len) =>
      decoder.decode(
        len ? new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len)) : new Uint8Array(),
      ));
  }

  /** Writes `value` at `path`; xenstored creates missing parents. */
  write(path: string, value: string | Uint8Array, t = XBT_NULL): void {
    const data = typeof value === "string" ? encoder.encode(value) : value;
    // A zero-length buffer must still be a valid pointer for C.
    const buf = data.length ? new Uint8Array(data) : new Uint8Array(1);
    if (
      !this.#libs.store.symbols.xs_write(
        this.#handle("xs_write", path),
        t,
        nodePath(path),
        buf,
        data.length,
      )
    ) {
      this.#fail("xs_write", path);
    }
  }

  /** Creates `path` (empty) unless it exists. */
  mkdir(path: string, t = XBT_NULL): void {
    if (!this.#libs.store.symbols.xs_mkdir(this.#handle("xs_mkdir", path), t, nodePath(path))) {
      this.#fail("xs_mkdir", path);
    }
  }

  /** Removes `path` and everything under it; false when it did not exist. */
  rm(path: string, t = XBT_NULL): boolean {
    return this.#libs.store.symbols.xs_rm(this.#handle("xs_rm", path), t, nodePath(path)) ||
      this.#absent("xs_rm", path);
  }

  /** Names of the children of `path`, or `undefined` when there is no such node. */
  directory(path: string, t = XBT_NULL): string[] | undefined {
    // One block: the pointer array, then the strings.
    return this.#fetch("xs_directory", path, t, (p, num) => {
      const view = new Deno.UnsafePointerView(p);
      const out: string[] = [];
      for (let i = 0; i < num; i++) {
        const entry = view.getPointer(i * 8);
        if (entry !== null) out.push(Deno.UnsafePointerView.getCString(entry));
      }
      return out;
    });
  }

  /** `xs_set_permissions`: `perms[0]` is the owner and everyone's default. */
  setPermissions(path: string, perms: readonly XsPermission[], t = XBT_NULL): void {
    if (perms.length === 0) {
      throw new XenError("xs_set_permissions", EINVAL, { subject: path, reason: "no owner given" });
    }
    const raw = new Uint32Array(perms.length * 2);
    perms.forEach((p, i) => {
      raw[2 * i] = p.id;
      raw[2 * i + 1] = p.perms;
    });
    if (
      !this.#libs.store.symbols.xs_set_permissions(
        this.#handle("xs_set_permissions", path),
        t,
        nodePath(path),
        new Uint8Array(raw.buffer),
        perms.length,
      )
    ) {
      this.#fail("xs_set_permissions", path);
    }
  }

  /**
   * Runs `body` in a transaction and commits it, starting again when
   * xenstored reports a conflict (EAGAIN), as libxl does.  A throw from
   * `body` abandons the transaction.
   */
  transaction<T>(body: (t: number) => T): T {
    const sym = this.#libs.store.symbols;
    for (let attempt = 1;; attempt++) {
      const t = sym.xs_transaction_start(this.#handle("xs_transaction_start"));
      if (t === XBT_NULL) this.#fail("xs_transaction_start", "");
      let result: T;
      try {
        result = body(t);
      } catch (e) {
        sym.xs_transaction_end(this.#handle("xs_transaction_end"), t, true);
        throw e;
      }
      if (sym.xs_transaction_end(this.#handle("xs_transaction_end"), t, false)) return result;
      const errno = this.#libs.errno();
      if (errno !== EAGAIN || attempt >= TRANSACTION_ATTEMPTS) {
        throw new XenError("xs_transaction_end", errno || EINVAL, {
          subject: `attempt ${attempt}`,
          reason: errno === EAGAIN
            ? `still conflicting after ${TRANSACTION_ATTEMPTS} attempts`
            : undefined,
        });
      }
    }
  }

  /**
   * Watches `path` and everything below it (or a special path such as
   * `@releaseDomain`, fired when a domain shuts down or dies) until
   * {@linkcode unwatch}; events carry `token`.  xenstored fires a new watch
   * once at once.
   */
  watch(path: string, token: string): void {
    const call = "xs_watch";
    if (
      !this.#libs.store.symbols[call](this.#handle(call, path), watchPath(path), cString(token))
    ) {
      this.#fail(call, path);
    }
  }

  /** Removes a watch (and its queued events); quiet when there is no such watch. */
  unwatch(path: string, token: string): void {
    const call = "xs_unwatch";
    if (
      !this.#libs.store.symbols[call](this.#handle(call, path), watchPath(path), cString(token))
    ) {
      this.#absent(call, path);
    }
  }

  /**
   * The watch events queued now, or, if none, the first to come within
   * `timeoutMs` (and any queued with it); `[]` when none came.  The wait
   * is on a worker thread: timers and signal handlers keep running.
   */
  async watchEvents(timeoutMs: number): Promise<WatchEvent[]> {
    let events = this.#checkWatches();
    if (events.length || timeoutMs <= 0) return events;
    const call = "xs_fileno";
    this.#fd ??= this.#libs.store.symbols[call](this.#handle(call));
    if (this.#fd < 0) {
      this.#fd = undefined;
      this.#fail(call, "");
    }
    if (await this.#libs.waitReadable(this.#fd, timeoutMs)) events = this.#checkWatches();
    return events;
  }

  #checkWatches(): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (;;) {
      const vec = this.#libs.store.symbols.xs_check_watch(this.#handle("xs_check_watch"));
      if (vec === null) return out; // EAGAIN: none queued
      try {
        const view = new Deno.UnsafePointerView(vec);
        const [path, token] = [view.getPointer(0), view.getPointer(8)];
        out.push({
          path: path === null ? "" : Deno.UnsafePointerView.getCString(path),
          token: token === null ? "" : Deno.UnsafePointerView.getCString(token),
        });
      } finally {
        this.#libs.free(vec);
      }
    }
  }

  /** `xs_introduce_domain`: xenstored connects to the guest's ring at `gfn`, port `port`. */
  introduceDomain(domid: number, gfn: number, port: number): void {
    const subject = `domid ${domid}, gfn 0x${gfn.toString(16)}, port ${port}`;
    if (
      !this.#libs.store.symbols.xs_introduce_domain(
        this.#handle("xs_introduce_domain", subject),
        domid,
        BigInt(gfn),
        port,
      )
    ) {
      this.#fail("xs_introduce_domain", subject);
    }
  }

  /** `xs_release_domain`: xenstored drops its connection to a dead domain. */
  releaseDomain(domid: number): void {
    this.#domainCall("xs_release_domain", domid);
  }

  /** `xs_resume_domain`: clears xenstored's shutdown flag after a cancelled suspend. */
  resumeDomain(domid: number): void {
    this.#domainCall("xs_resume_domain", domid);
  }

  #domainCall(call: "xs_release_domain" | "xs_resume_domain", domid: number): void {
    const subject = `domid ${domid}`;
    if (!this.#libs.store.symbols[call](this.#handle(call, subject), domid)) {
      this.#fail(call, subject);
    }
  }

  /** Whether xenstored knows the domain (`xs_is_domain_introduced`). */
  isIntroduced(domid: number): boolean {
    return this.#libs.store.symbols.xs_is_domain_introduced(
      this.#handle("xs_is_domain_introduced"),
      domid,
    );
  }

  /** The domain's home, `/local/domain/<domid>` (`xs_get_domain_path`). */
  domainPath(domid: number): string {
    const subject = `domid ${domid}`;
    const p = this.#libs.store.symbols.xs_get_domain_path(
      this.#handle("xs_get_domain_path", subject),
      domid,
    );
    if (p === null) this.#fail("xs_get_domain_path", subject);
    try {
      return Deno.UnsafePointerView.getCString(p);
    } finally {
      this.#libs.free(p);
    }
  }

  /** Whether {@linkcode close} has run. */
  get closed(): boolean {
    return this.#h === null;
  }

  /** Closes the connection; idempotent. */
  close(): void {
    if (this.#h === null) return;
    this.#libs.store.symbols.xs_close(this.#h);
    this.#h = null;
  }

  /** Same as {@linkcode close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
