/**
 * Reading a guest's mailbox page from dom0 through libxenforeignmemory —
 * the lab's own few lines of FFI, independent of xenmig's bindings (which
 * are under test) — so a guest that has no console (a domain created
 * without xenstore entries) can still be watched.
 *
 * @module
 */

const PROT_READ = 1;
const PAGE_SIZE = 4096;

const SYMBOLS = {
  xenforeignmemory_open: { parameters: ["pointer", "u32"], result: "pointer" },
  xenforeignmemory_map: {
    parameters: ["pointer", "u32", "i32", "usize", "buffer", "buffer"],
    result: "pointer",
  },
  xenforeignmemory_unmap: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
  xenforeignmemory_close: { parameters: ["pointer"], result: "i32" },
} as const;

/** Maps single guest pages read-only and copies them out. */
export class GuestPageReader implements Disposable {
  #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  #handle: Deno.PointerValue;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>, handle: Deno.PointerValue) {
    this.#lib = lib;
    this.#handle = handle;
  }

  /** Opens libxenforeignmemory; a string says why it cannot. */
  static open(): GuestPageReader | string {
    try {
      const lib = Deno.dlopen("libxenforeignmemory.so.1", SYMBOLS);
      const handle = lib.symbols.xenforeignmemory_open(null, 0);
      if (handle === null) {
        lib.close();
        return "xenforeignmemory_open failed";
      }
      return new GuestPageReader(lib, handle);
    } catch (e) {
      return `cannot load libxenforeignmemory.so.1: ${e instanceof Error ? e.message : e}`;
    }
  }

  /** A copy of guest frame `gfn` of `domid`, or null if it cannot be mapped. */
  read(domid: number, gfn: number): Uint8Array | null {
    const arr = new BigUint64Array([BigInt(gfn)]);
    const err = new Int32Array(1);
    const p = this.#lib.symbols.xenforeignmemory_map(
      this.#handle,
      domid,
      PROT_READ,
      1n,
      arr,
      err,
    );
    if (p === null) return null;
    try {
      if (err[0] !== 0) return null;
      const page = new Uint8Array(PAGE_SIZE);
      new Deno.UnsafePointerView(p).copyInto(page);
      return page;
    } finally {
      this.#lib.symbols.xenforeignmemory_unmap(this.#handle, p, 1n);
    }
  }

  /** Closes the handle and the library. */
  [Symbol.dispose](): void {
    this.#lib.symbols.xenforeignmemory_close(this.#handle);
    this.#lib.close();
  }
}
