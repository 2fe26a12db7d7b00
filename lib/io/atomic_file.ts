/**
 * Output files that appear whole or not at all: bytes go to a temporary file
 * beside the target, which is renamed over the target only on success.  On
 * failure (or if the process is interrupted before commit) the temporary
 * file is removed, so no partial output is ever left under the target name.
 *
 * @module
 */

import { onInterrupt } from "../interrupts.ts";
import type { ByteSink } from "./byte_sink.ts";

/** Buffers at least this large are written off the calling thread (a batch of pages is 4 MiB). */
const ASYNC_WRITE_BYTES = 256 * 1024;

/**
 * Removes a temporary file now; used when the process is interrupted.
 */
function removeSync(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Gone already.
  }
}

/**
 * A file written atomically.
 *
 * @example
 * ```ts
 * import { AtomicFile } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * const out = await AtomicFile.create(`${dir}/out.bin`);
 * await out.write(new Uint8Array([1, 2]));
 * await out.commit();
 * console.assert((await Deno.readFile(`${dir}/out.bin`)).length === 2);
 *
 * const bad = await AtomicFile.create(`${dir}/bad.bin`);
 * await bad.write(new Uint8Array([1]));
 * await bad.abort();
 * console.assert([...Deno.readDirSync(dir)].length === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class AtomicFile implements ByteSink {
  #file: Deno.FsFile;
  #temp: string;
  #target: string;
  #done = false;
  #durable: boolean;
  #unregister: () => void;

  private constructor(
    file: Deno.FsFile,
    temp: string,
    target: string,
    durable: boolean,
    unregister: () => void,
  ) {
    this.#file = file;
    this.#temp = temp;
    this.#target = target;
    this.#durable = durable;
    this.#unregister = unregister;
  }

  /**
   * Starts writing `target` (through a temporary file in the same
   * directory).  With `durable`, commit also fsyncs before the rename; by
   * default it does not — like `xl save` and `cp`, durability is the
   * system's business, atomicity is ours.
   */
  static async create(target: string, options: { durable?: boolean } = {}): Promise<AtomicFile> {
    // Same directory as the target (plain string work: node:path would add
    // its load time to every command's start).
    const slash = target.lastIndexOf("/");
    const temp = `${target.slice(0, slash + 1)}.${target.slice(slash + 1) || "out"}.${Deno.pid}.${
      crypto.randomUUID().slice(0, 8)
    }.tmp`;
    // The cleanup is registered before the file exists: a signal arriving
    // while it is being created then removes it too (issue 7).
    const unregister = onInterrupt(() => removeSync(temp));
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    } catch (e) {
      unregister();
      throw new Error(
        `cannot create ${target}: ${(e as Error).message.replace(/ \(os error \d+\).*$/, "")}`,
        { cause: e },
      );
    }
    return new AtomicFile(file, temp, target, options.durable ?? false, unregister);
  }

  /** The final path. */
  get target(): string {
    return this.#target;
  }

  /**
   * The temporary file being written, for callers that write it through a
   * descriptor of their own (e.g. with `copy_file_range`); commit and abort
   * still go through this object.
   */
  get tempPath(): string {
    return this.#temp;
  }

  /**
   * Writes all of `bytes`.  A large buffer is written from Deno's thread
   * pool, so the caller can prepare the next meanwhile (a save maps its
   * next batch of pages); a small one synchronously, as a thread-pool round
   * trip would cost more than the write.  Do not write again before the
   * promise settles.
   */
  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    if (bytes.length >= ASYNC_WRITE_BYTES) {
      while (done < bytes.length) done += await this.#file.write(bytes.subarray(done));
    }
    while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
  }

  /** Renames over the target (after an fsync when `durable`). */
  async commit(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      if (this.#durable) await this.#file.sync();
      this.#file.close();
      await Deno.rename(this.#temp, this.#target);
      this.#unregister();
    } catch (e) {
      this.#discard();
      throw e;
    }
  }

  /** Discards everything written; the target is left untouched. */
  abort(): Promise<void> {
    if (this.#done) return Promise.resolve();
    this.#done = true;
    try {
      this.#file.close();
    } catch {
      // Closed already.
    }
    this.#discard();
    return Promise.resolve();
  }

  /** As a sink, closing means abort unless committed: success must be explicit. */
  close(): Promise<void> {
    return this.abort();
  }

  #discard(): void {
    removeSync(this.#temp);
    this.#unregister();
  }
}
