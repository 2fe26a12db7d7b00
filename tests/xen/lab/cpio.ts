/**
 * A writer for the "newc" cpio format the Linux kernel unpacks as an
 * initramfs.  Entries are collected first (parent directories are added
 * automatically) and written in path order, so a parent always precedes
 * its children; every entry gets mtime 0 and uid/gid 0, so the same
 * inputs give the same bytes.
 *
 * @module
 */

/** File type bits of `st_mode`. */
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** One archive member. */
type CpioEntry =
  | { kind: "dir"; mode: number }
  | { kind: "file"; mode: number; data: Uint8Array | { path: string } }
  | { kind: "symlink"; target: string }
  | { kind: "chardev"; mode: number; major: number; minor: number };

function normalise(path: string): string {
  const p = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (!p || p.split("/").some((part) => part === ".." || part === ".")) {
    throw new RangeError(`bad archive path '${path}'`);
  }
  return p;
}

/**
 * An initramfs under construction.
 *
 * @example
 * ```ts
 * import { CpioArchive } from "./cpio.ts";
 * const a = new CpioArchive();
 * a.addFile("/bin/hello", new TextEncoder().encode("#!/bin/sh\necho hi\n"), 0o755);
 * a.addSymlink("/init", "bin/hello");
 * const bytes = await a.toBytes();
 * console.log(new TextDecoder().decode(bytes.subarray(0, 6))); // "070701"
 * ```
 */
export class CpioArchive {
  #entries = new Map<string, CpioEntry>();

  /** Paths in the archive so far, in write order. */
  get paths(): string[] {
    return [...this.#entries.keys()].sort(comparePaths);
  }

  /** Whether `path` is already in the archive. */
  has(path: string): boolean {
    return this.#entries.has(normalise(path));
  }

  /** Adds a directory (and its parents). */
  addDirectory(path: string, mode = 0o755): void {
    const p = normalise(path);
    const existing = this.#entries.get(p);
    if (existing && existing.kind !== "dir") {
      throw new RangeError(`'${p}' is already a ${existing.kind}`);
    }
    this.#addParents(p);
    this.#entries.set(p, { kind: "dir", mode });
  }

  /** Adds a regular file from bytes or from a host file (read when writing). */
  addFile(path: string, data: Uint8Array | { path: string }, mode = 0o644): void {
    this.#put(path, { kind: "file", mode, data });
  }

  /** Adds a symbolic link. */
  addSymlink(path: string, target: string): void {
    this.#put(path, { kind: "symlink", target });
  }

  /** Adds a character device node. */
  addCharDevice(path: string, major: number, minor: number, mode = 0o600): void {
    this.#put(path, { kind: "chardev", mode, major, minor });
  }

  #put(path: string, entry: CpioEntry): void {
    const p = normalise(path);
    if (this.#entries.get(p)?.kind === "dir") throw new RangeError(`'${p}' is a directory`);
    this.#addParents(p);
    this.#entries.set(p, entry);
  }

  #addParents(p: string): void {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const e = this.#entries.get(dir);
      if (!e) this.#entries.set(dir, { kind: "dir", mode: 0o755 });
      else if (e.kind !== "dir") throw new RangeError(`'${dir}' is a ${e.kind}, not a directory`);
    }
  }

  /** Writes the archive to `file`; returns its size in bytes. */
  async writeTo(file: string): Promise<number> {
    using out = await Deno.open(file, { write: true, create: true, truncate: true });
    let size = 0;
    await this.#emit(async (chunk) => {
      for (let off = 0; off < chunk.length;) off += await out.write(chunk.subarray(off));
      size += chunk.length;
    });
    return size;
  }

  /** The whole archive in memory (for small archives). */
  async toBytes(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    await this.#emit((chunk) => {
      chunks.push(chunk.slice());
      return Promise.resolve();
    });
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    return all;
  }

  async #emit(write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    let ino = 1;
    for (const path of this.paths) {
      const e = this.#entries.get(path)!;
      let data: Uint8Array = new Uint8Array(0);
      let mode: number;
      let rdev: [number, number] = [0, 0];
      switch (e.kind) {
        case "dir":
          mode = S_IFDIR | e.mode;
          break;
        case "file":
          mode = S_IFREG | e.mode;
          data = e.data instanceof Uint8Array ? e.data : await Deno.readFile(e.data.path);
          break;
        case "symlink":
          mode = S_IFLNK | 0o777;
          data = new TextEncoder().encode(e.target);
          break;
        case "chardev":
          mode = S_IFCHR | e.mode;
          rdev = [e.major, e.minor];
          break;
      }
      await write(header(path, ino++, mode, e.kind === "dir" ? 2 : 1, data.length, rdev));
      await write(data);
      await write(padding(data.length));
    }
    await write(header("TRAILER!!!", 0, 0, 1, 0, [0, 0]));
  }
}

function comparePaths(a: string, b: string): number {
  // Compare component-wise so "a/b" sorts right after "a" (before "a-c").
  const pa = a.split("/"), pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function padding(n: number): Uint8Array {
  return new Uint8Array((4 - (n % 4)) % 4);
}

function header(
  name: string,
  ino: number,
  mode: number,
  nlink: number,
  size: number,
  rdev: [number, number],
): Uint8Array {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const nameBytes = new TextEncoder().encode(name + "\0");
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const head = new TextEncoder().encode("070701" + fields.map(hex).join(""));
  const out = new Uint8Array(
    head.length + nameBytes.length + padding(110 + nameBytes.length).length,
  );
  out.set(head);
  out.set(nameBytes, head.length);
  return out;
}
