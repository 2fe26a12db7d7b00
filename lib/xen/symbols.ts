/**
 * FFI signatures of every bound C function, transcribed from Debian's
 * libxen-dev 4.17 headers (`xenctrl.h`, `xenguest.h`,
 * `xenforeignmemory.h`; `xc_get_pfn_type_batch` is exported by
 * libxenctrl.so.4.17 but declared in libxc's private `xc_private.h`).
 * Pointers to structs are passed as `buffer`s laid out per `layout.ts`;
 * opaque handles are `pointer`s that never leave the bindings.
 *
 * @module
 */

/**
 * libxenctrl.so.4.17.
 *
 * @example
 * ```ts
 * import { XENCTRL_SYMBOLS } from "./symbols.ts";
 * console.log("xc_domain_pause" in XENCTRL_SYMBOLS); // true
 * ```
 */
export const XENCTRL_SYMBOLS = {
  // xc_interface *xc_interface_open(xentoollog_logger *, xentoollog_logger *, unsigned)
  xc_interface_open: { parameters: ["pointer", "pointer", "u32"], result: "pointer" },
  xc_interface_close: { parameters: ["pointer"], result: "i32" },
  // const xc_error *xc_get_last_error(xc_interface *)
  xc_get_last_error: { parameters: ["pointer"], result: "pointer" },
  xc_clear_last_error: { parameters: ["pointer"], result: "void" },
  // int xc_domain_getinfolist(xch, uint32_t first, unsigned max, xc_domaininfo_t *)
  xc_domain_getinfolist: { parameters: ["pointer", "u32", "u32", "buffer"], result: "i32" },
  xc_domain_pause: { parameters: ["pointer", "u32"], result: "i32" },
  xc_domain_unpause: { parameters: ["pointer", "u32"], result: "i32" },
  // int xc_domain_maximum_gpfn(xch, uint32_t domid, xen_pfn_t *gpfns)
  xc_domain_maximum_gpfn: { parameters: ["pointer", "u32", "buffer"], result: "i32" },
  // int xc_domain_get_pod_target(xch, uint32_t domid, uint64_t *tot_pages,
  //                              uint64_t *pod_cache_pages, uint64_t *pod_entries)
  xc_domain_get_pod_target: {
    parameters: ["pointer", "u32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // void *xc__hypercall_buffer_alloc_pages(xch, xc_hypercall_buffer_t *, int nr_pages)
  xc__hypercall_buffer_alloc_pages: { parameters: ["pointer", "buffer", "i32"], result: "pointer" },
  xc__hypercall_buffer_free_pages: { parameters: ["pointer", "buffer", "i32"], result: "void" },
  // long long xc_logdirty_control(xch, domid, sop, xc_hypercall_buffer_t *,
  //                               unsigned long pages, unsigned mode, xc_shadow_op_stats_t *)
  xc_logdirty_control: {
    parameters: ["pointer", "u32", "u32", "buffer", "u64", "u32", "buffer"],
    result: "i64",
  },
  // int xc_get_pfn_type_batch(xch, uint32_t dom, unsigned num, xen_pfn_t *arr)
  xc_get_pfn_type_batch: { parameters: ["pointer", "u32", "u32", "buffer"], result: "i32" },
  // int xc_domain_hvm_getcontext(xch, domid, uint8_t *buf, uint32_t size)
  xc_domain_hvm_getcontext: { parameters: ["pointer", "u32", "buffer", "u32"], result: "i32" },
  xc_domain_hvm_setcontext: { parameters: ["pointer", "u32", "buffer", "u32"], result: "i32" },
  // int xc_hvm_param_get(xch, uint32_t dom, uint32_t param, uint64_t *value)
  xc_hvm_param_get: { parameters: ["pointer", "u32", "u32", "buffer"], result: "i32" },
  xc_hvm_param_set: { parameters: ["pointer", "u32", "u32", "u64"], result: "i32" },
  // int xc_domain_get_tsc_info(xch, domid, uint32_t *mode, uint64_t *elapsed,
  //                            uint32_t *gtsc_khz, uint32_t *incarnation)
  xc_domain_get_tsc_info: {
    parameters: ["pointer", "u32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  xc_domain_set_tsc_info: {
    parameters: ["pointer", "u32", "u32", "u64", "u32", "u32"],
    result: "i32",
  },
  // int xc_vcpu_getinfo(xch, domid, uint32_t vcpu, xc_vcpuinfo_t *)
  xc_vcpu_getinfo: { parameters: ["pointer", "u32", "u32", "buffer"], result: "i32" },
  // int xc_domain_create(xch, uint32_t *pdomid, struct xen_domctl_createdomain *)
  xc_domain_create: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  xc_domain_setmaxmem: { parameters: ["pointer", "u32", "u64"], result: "i32" },
  xc_domain_max_vcpus: { parameters: ["pointer", "u32", "u32"], result: "i32" },
  // int xc_domain_populate_physmap_exact(xch, domid, unsigned long nr_extents,
  //                                      unsigned order, unsigned mem_flags, xen_pfn_t *)
  xc_domain_populate_physmap_exact: {
    parameters: ["pointer", "u32", "u64", "u32", "u32", "buffer"],
    result: "i32",
  },
  xc_domain_destroy: { parameters: ["pointer", "u32"], result: "i32" },
  // int xc_set_paging_mempool_size(xch, uint32_t domid, uint64_t size)
  xc_set_paging_mempool_size: { parameters: ["pointer", "u32", "u64"], result: "i32" },
  // xc_evtchn_port_or_error_t xc_evtchn_alloc_unbound(xch, uint32_t dom, uint32_t remote_dom)
  xc_evtchn_alloc_unbound: { parameters: ["pointer", "u32", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libxenguest.so.4.17: the CPU policy calls, grant-table seeding and
 * resume (both live in libxenguest since Xen 4.15).  (4.17 has no
 * `xc_get_domain_cpu_policy`; reading is `xc_cpu_policy_get_domain` +
 * `xc_cpu_policy_serialise`, writing is `xc_set_domain_cpu_policy`.)
 *
 * @example
 * ```ts
 * import { XENGUEST_SYMBOLS } from "./symbols.ts";
 * console.log(Object.keys(XENGUEST_SYMBOLS).length); // 8
 * ```
 */
export const XENGUEST_SYMBOLS = {
  xc_cpu_policy_init: { parameters: [], result: "pointer" },
  xc_cpu_policy_destroy: { parameters: ["pointer"], result: "void" },
  // int xc_cpu_policy_get_domain(xch, uint32_t domid, xc_cpu_policy_t *)
  xc_cpu_policy_get_domain: { parameters: ["pointer", "u32", "pointer"], result: "i32" },
  // int xc_cpu_policy_serialise(xch, const xc_cpu_policy_t *, xen_cpuid_leaf_t *,
  //                             uint32_t *nr_leaves, xen_msr_entry_t *, uint32_t *nr_msrs)
  xc_cpu_policy_serialise: {
    parameters: ["pointer", "pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // int xc_cpu_policy_get_size(xch, uint32_t *nr_leaves, uint32_t *nr_msrs)
  xc_cpu_policy_get_size: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  // int xc_set_domain_cpu_policy(xch, domid, nr_leaves, leaves, nr_msrs, msrs,
  //                              uint32_t *err_leaf, uint32_t *err_subleaf, uint32_t *err_msr)
  xc_set_domain_cpu_policy: {
    parameters: ["pointer", "u32", "u32", "buffer", "u32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // int xc_dom_gnttab_seed(xch, uint32_t guest_domid, bool is_hvm, xen_pfn_t console_gfn,
  //                        xen_pfn_t xenstore_gfn, uint32_t console_domid, uint32_t xenstore_domid)
  xc_dom_gnttab_seed: {
    parameters: ["pointer", "u32", "bool", "u64", "u64", "u32", "u32"],
    result: "i32",
  },
  // int xc_domain_resume(xch, uint32_t domid, int fast)
  xc_domain_resume: { parameters: ["pointer", "u32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libxenstore.so.4 (`xenstore.h`).  `xs_transaction_t` is a `uint32_t`;
 * strings go in as NUL-terminated buffers, and what `xs_read`,
 * `xs_directory` and `xs_get_domain_path` return is malloc'd: released with
 * libc `free`.
 *
 * @example
 * ```ts
 * import { XENSTORE_SYMBOLS } from "./symbols.ts";
 * console.log("xs_introduce_domain" in XENSTORE_SYMBOLS); // true
 * ```
 */
export const XENSTORE_SYMBOLS = {
  // struct xs_handle *xs_open(unsigned long flags)
  xs_open: { parameters: ["u64"], result: "pointer" },
  xs_close: { parameters: ["pointer"], result: "void" },
  // void *xs_read(h, xs_transaction_t t, const char *path, unsigned int *len)
  xs_read: { parameters: ["pointer", "u32", "buffer", "buffer"], result: "pointer" },
  // bool xs_write(h, t, const char *path, const void *data, unsigned int len)
  xs_write: { parameters: ["pointer", "u32", "buffer", "buffer", "u32"], result: "bool" },
  xs_mkdir: { parameters: ["pointer", "u32", "buffer"], result: "bool" },
  xs_rm: { parameters: ["pointer", "u32", "buffer"], result: "bool" },
  // char **xs_directory(h, t, const char *path, unsigned int *num)
  xs_directory: { parameters: ["pointer", "u32", "buffer", "buffer"], result: "pointer" },
  // bool xs_set_permissions(h, t, const char *path, struct xs_permissions *, unsigned num)
  xs_set_permissions: {
    parameters: ["pointer", "u32", "buffer", "buffer", "u32"],
    result: "bool",
  },
  xs_transaction_start: { parameters: ["pointer"], result: "u32" },
  // bool xs_transaction_end(h, t, bool abort)
  xs_transaction_end: { parameters: ["pointer", "u32", "bool"], result: "bool" },
  // bool xs_introduce_domain(h, unsigned domid, unsigned long mfn, unsigned eventchn)
  xs_introduce_domain: { parameters: ["pointer", "u32", "u64", "u32"], result: "bool" },
  xs_release_domain: { parameters: ["pointer", "u32"], result: "bool" },
  xs_resume_domain: { parameters: ["pointer", "u32"], result: "bool" },
  // char *xs_get_domain_path(h, unsigned domid)
  xs_get_domain_path: { parameters: ["pointer", "u32"], result: "pointer" },
  xs_is_domain_introduced: { parameters: ["pointer", "u32"], result: "bool" },
  // bool xs_watch(h, const char *path, const char *token); likewise xs_unwatch
  xs_watch: { parameters: ["pointer", "buffer", "buffer"], result: "bool" },
  xs_unwatch: { parameters: ["pointer", "buffer", "buffer"], result: "bool" },
  // int xs_fileno(h): readable while watch events are queued
  xs_fileno: { parameters: ["pointer"], result: "i32" },
  // char **xs_check_watch(h): one queued event (path, token; one malloc'd block), or NULL
  xs_check_watch: { parameters: ["pointer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libxenforeignmemory.so.1.
 *
 * @example
 * ```ts
 * import { FOREIGNMEMORY_SYMBOLS } from "./symbols.ts";
 * console.log("xenforeignmemory_map" in FOREIGNMEMORY_SYMBOLS); // true
 * ```
 */
export const FOREIGNMEMORY_SYMBOLS = {
  // xenforeignmemory_handle *xenforeignmemory_open(xentoollog_logger *, unsigned)
  xenforeignmemory_open: { parameters: ["pointer", "u32"], result: "pointer" },
  xenforeignmemory_close: { parameters: ["pointer"], result: "i32" },
  // void *xenforeignmemory_map(fmem, uint32_t dom, int prot, size_t pages,
  //                            const xen_pfn_t arr[], int err[])
  xenforeignmemory_map: {
    parameters: ["pointer", "u32", "i32", "usize", "buffer", "buffer"],
    result: "pointer",
  },
  // int xenforeignmemory_unmap(fmem, void *addr, size_t pages)
  xenforeignmemory_unmap: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libc: errno is thread-local, reached through `__errno_location`; `free`
 * releases what libxenstore returns.
 */
export const LIBC_SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout), on a worker
  // thread: waiting for xenstore watch events must not block the event loop.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;
