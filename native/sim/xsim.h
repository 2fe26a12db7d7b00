/*
 * Internal interface of the libxenctrl simulator.  The exported surface is
 * the libxenctrl / libxenguest / libxenforeignmemory calls the bindings use
 * (same names and C ABI as Xen 4.17) plus xsim_* control calls.
 */
#ifndef XSIM_H
#define XSIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include "xsim_abi.h" /* generated into native/build/gen by native/build.ts */

#define XSIM_EXPORT __attribute__((visibility("default")))

#define XSIM_PAGE 4096ULL
#define XSIM_MAX_DOMID 1024           /* simulated domids are 1..1023 */
#define XSIM_PFN_LIMIT (1ULL << 22)   /* 16 GiB of guest-physical space */
#define XSIM_MAX_VCPUS 128
#define XSIM_MAX_WRITERS 4
#define XSIM_STAMP_LOCKS 4096
#define XSIM_MAX_LEAVES 64
#define XSIM_MAX_MSRS 8
/* Real HVM layout: VGA/ROM hole, low RAM below the MMIO hole, special pages. */
#define XSIM_VGA_HOLE_START 0xa0ULL
#define XSIM_VGA_HOLE_END 0x100ULL
#define XSIM_LOWMEM_END 0xf0000ULL    /* 3.75 GiB: PCI hole up to 4 GiB */
#define XSIM_HIGHMEM_START 0x100000ULL
#define XSIM_SPECIAL_PFN 0xfeff8ULL    /* 8 special pages (xenstore, ioreq...) */
#define XSIM_SPECIAL_PAGES 8
#define XSIM_EVTCHN_CAP 1023           /* ports when the creator set no max_evtchn_port */

/* Xen's public sched.h / xen.h; not (yet) in the generated ABI tables. */
#ifndef SHUTDOWN_poweroff
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
#define SHUTDOWN_watchdog 4
#endif
#ifndef DOMID_SELF
#define DOMID_SELF 0x7FF0U
#endif

enum xsim_pattern { XSIM_UNIFORM = 0, XSIM_HOT = 1, XSIM_SCAN = 2, XSIM_BURSTY = 3 };

struct xsim_workload {
    double rate;          /* pages per second for the whole domain */
    int pattern;          /* enum xsim_pattern */
    double hot_fraction;  /* XSIM_HOT: share of RAM taking 90% of writes */
    uint32_t on_ms, off_ms; /* XSIM_BURSTY phases */
};

struct xsim_range {
    uint64_t first_pfn, count, first_index;
};

struct xsim_domain {
    uint32_t domid;
    _Atomic int refs;           /* table reference + callers in flight */
    _Atomic int dead;

    int memfd;
    uint8_t *mem;               /* whole pfn space, MAP_SHARED of memfd */
    uint64_t pfn_space;         /* pages covered by mem */
    _Atomic uint64_t max_gpfn;
    _Atomic uint64_t *populated; /* bitmap over pfn_space */
    _Atomic uint64_t tot_pages;
    uint64_t max_pages;
    int spec_created;

    uint32_t cdf_flags, emulation_flags, misc_flags;
    uint32_t max_vcpus, nr_vcpus;
    uint64_t paging_mempool;     /* bytes, as xc_set_paging_mempool_size set it */
    uint8_t handle[16];
    uint64_t created_ns;

    _Atomic int logdirty;
    _Atomic uint64_t *dirty;     /* bitmap over pfn_space */
    _Atomic uint32_t fault_count, dirty_count;

    pthread_mutex_t ctl;         /* serialises pause/workload/destroy */
    pthread_mutex_t lock;        /* protects the fields below */
    pthread_cond_t cv;           /* writers: wake on pause/stop/workload */
    pthread_cond_t cv_parked;    /* pausers: wait for quiescence */
    int pause_count;
    _Atomic int paused;
    _Atomic int stop;
    int nwriters, parked;
    pthread_t writers[XSIM_MAX_WRITERS];
    struct xsim_workload wl;
    uint64_t epoch_ns;
    struct xsim_range *ranges;   /* RAM index -> pfn, for the workload */
    size_t nranges;
    uint64_t nram;
    _Atomic uint64_t scan_cursor;

    _Atomic uint64_t gen;
    _Atomic uint64_t writes;
    _Atomic uint64_t out_of_range;
    _Atomic uint64_t hole_access;
    atomic_flag stamp_locks[XSIM_STAMP_LOCKS];

    uint8_t *hvm_ctx;
    uint32_t hvm_ctx_len;
    uint64_t params[HVM_NR_PARAMS];
    uint32_t tsc_mode, gtsc_khz, incarnation;
    uint64_t elapsed_nsec;
    struct xen_cpuid_leaf leaves[XSIM_MAX_LEAVES];
    uint32_t nr_leaves;
    struct xen_msr_entry msrs[XSIM_MAX_MSRS];
    uint32_t nr_msrs;

    /* SCHEDOP_shutdown: writers park while shut down as while paused, but
     * the two are independent (unpause does not revive a shut-down guest). */
    _Atomic int shut;             /* shut down, as getdomaininfo reports it */
    _Atomic int stopping;         /* shutting down: writers park before shut is set */
    _Atomic int shutdown_reason;  /* SHUTDOWN_*, meaningful while shut */
    uint64_t resumes;             /* under lock */
    int resumed_fast;             /* last xc_domain_resume's fast (0/1), -1 never */

    uint32_t max_evtchn_port;     /* under lock; 0: XSIM_EVTCHN_CAP */
    uint32_t evtchn_ports;        /* ports allocated, 1..evtchn_ports */

    int gnttab_seeded;            /* under lock */
    uint64_t console_gfn, xenstore_gfn;
    uint32_t console_domid, xenstore_domid;

    _Atomic int agent_enabled;    /* simulated PV driver answers control/shutdown */
    _Atomic uint32_t agent_ack_ms;
    _Atomic uint64_t agent_answers;
};

/* errors.c: errno + xc_get_last_error, as libxc reports them. */
int xsim_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xsim_clear_error(void);

/* handles.c: xc_interface handles. */
int xsim_check_xch(void *xch, const char *call);

/* domain.c */
uint64_t xsim_now_ns(void);
struct xsim_domain *xsim_get(uint32_t domid, const char *call); /* +ref or fail ESRCH */
struct xsim_domain *xsim_lookup(uint32_t domid); /* +ref or NULL, errno untouched */
void xsim_put(struct xsim_domain *d);
int xsim_new_domain(uint32_t want_domid, uint64_t pfn_space, uint32_t max_vcpus,
                    struct xsim_domain **out);
int xsim_destroy(uint32_t domid);
void xsim_populate(struct xsim_domain *d, uint64_t pfn, uint64_t count);
int xsim_is_populated(struct xsim_domain *d, uint64_t pfn);
int xsim_for_each_domain(uint32_t first, int (*fn)(struct xsim_domain *, void *), void *arg);
void xsim_reset_all(void);
/* Counts an access beyond a domain's range, per domain and process-wide (the
 * process-wide total outlives destroyed domains, e.g. a failed restore's). */
void xsim_count_out_of_range(struct xsim_domain *d);
uint64_t xsim_out_of_range_total(void);

/* stamp.c */
void xsim_stamp(uint8_t *page, uint64_t pfn, uint64_t gen);
int xsim_check_stamp(const uint8_t *page, uint64_t pfn); /* 1 stamped, 0 zero, -1 bad */
void xsim_write_page(struct xsim_domain *d, uint64_t pfn);

/* workload.c */
int xsim_pause(struct xsim_domain *d);
int xsim_unpause(struct xsim_domain *d);
int xsim_set_workload_locked(struct xsim_domain *d, const struct xsim_workload *wl);
void xsim_stop_writers(struct xsim_domain *d);
/* Writers may run only while neither controller-paused nor shut down. */
static inline int xsim_held(struct xsim_domain *d)
{
    return atomic_load(&d->paused) || atomic_load(&d->shut) || atomic_load(&d->stopping);
}

/* shutdown.c: 0, EALREADY if already shut down, EAGAIN if only_if_running
 * and the domain is controller-paused (its vcpus cannot run the request). */
int xsim_shutdown(struct xsim_domain *d, int reason, int only_if_running);

/* xenstore.c */
/* Atomically: parse(value) of an existing node; if >= 0, the node becomes ""
 * (the guest's acknowledgement).  Returns parse's result, -1 if absent. */
int xsim_xs_consume(const char *path, int (*parse)(const void *data, unsigned len));
int xsim_xs_introduced(uint32_t domid, uint64_t *mfn, uint32_t *port);
void xsim_xs_fire(const char *path); /* fire watches on path (e.g. @releaseDomain) */
void xsim_xs_domain_gone(uint32_t domid);
void xsim_xs_reset(void);
int64_t xsim_xs_handles_live(void);
int64_t xsim_xs_transactions_live(void);
int64_t xsim_xs_nodes(void);

/* guest_agent.c */
void xsim_agent_on_write(const char *path, const void *data, unsigned len);
void xsim_agent_reset(void);
void xsim_agent_inherit(struct xsim_domain *d); /* a copy of a guest has its drivers */

/* logdirty.c */
void xsim_mark_dirty(struct xsim_domain *d, uint64_t pfn);
int64_t xsim_buffers_live(void);
uint64_t xsim_buffers_total(void);
uint64_t xsim_buffers_bad(void);
void *xsim_buffer_lookup(void *hbuf, size_t *capacity);

/* foreignmemory.c */
int64_t xsim_mappings_live(void);

/* hvm_state.c: default HVM context, params, TSC and CPU policy. */
void xsim_init_hvm_state(struct xsim_domain *d);
int xsim_build_hvm_context(struct xsim_domain *d);
int xsim_validate_hvm_context(struct xsim_domain *d, const uint8_t *buf, uint32_t size);

#endif
