/* The table of simulated domains, their guest memory and lifetime. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "xsim.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t out_of_range_total;

void xsim_count_out_of_range(struct xsim_domain *d)
{
    atomic_fetch_add(&d->out_of_range, 1);
    atomic_fetch_add(&out_of_range_total, 1);
}

uint64_t xsim_out_of_range_total(void)
{
    return atomic_load(&out_of_range_total);
}
static struct xsim_domain *table[XSIM_MAX_DOMID];

uint64_t xsim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct xsim_domain *xsim_lookup(uint32_t domid)
{
    struct xsim_domain *d = NULL;
    pthread_mutex_lock(&table_lock);
    if (domid < XSIM_MAX_DOMID && table[domid] && !atomic_load(&table[domid]->dead)) {
        d = table[domid];
        atomic_fetch_add(&d->refs, 1);
    }
    pthread_mutex_unlock(&table_lock);
    return d;
}

struct xsim_domain *xsim_get(uint32_t domid, const char *call)
{
    struct xsim_domain *d = xsim_lookup(domid);
    if (!d) xsim_fail(ESRCH, "%s: no domain %u", call, domid);
    return d;
}

static void free_domain(struct xsim_domain *d)
{
    if (d->mem) munmap(d->mem, d->pfn_space * XSIM_PAGE);
    if (d->memfd >= 0) close(d->memfd);
    free((void *)d->populated);
    free((void *)d->dirty);
    free(d->hvm_ctx);
    free(d->ranges);
    pthread_mutex_destroy(&d->ctl);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cv);
    pthread_cond_destroy(&d->cv_parked);
    free(d);
}

void xsim_put(struct xsim_domain *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1) free_domain(d);
}

int xsim_new_domain(uint32_t want, uint64_t pfn_space, uint32_t max_vcpus,
                    struct xsim_domain **out)
{
    if (pfn_space == 0 || pfn_space > XSIM_PFN_LIMIT) return EINVAL;
    if (max_vcpus == 0 || max_vcpus > XSIM_MAX_VCPUS) return EINVAL;
    if (want >= XSIM_MAX_DOMID) return EINVAL;

    struct xsim_domain *d = calloc(1, sizeof(*d));
    if (!d) return ENOMEM;
    d->memfd = -1;
    size_t words = (pfn_space + 63) / 64;
    d->populated = calloc(words, sizeof(uint64_t));
    d->dirty = calloc(words, sizeof(uint64_t));
    if (!d->populated || !d->dirty) goto nomem;
    d->memfd = memfd_create("xsim-guest", MFD_CLOEXEC);
    if (d->memfd < 0 || ftruncate(d->memfd, (off_t)(pfn_space * XSIM_PAGE)) != 0) goto nomem;
    /* Sparse: tmpfs pages exist only once written, so 8 GiB guests are cheap. */
    d->mem = mmap(NULL, pfn_space * XSIM_PAGE, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_NORESERVE, d->memfd, 0);
    if (d->mem == MAP_FAILED) {
        d->mem = NULL;
        goto nomem;
    }
    d->pfn_space = pfn_space;
    d->max_vcpus = d->nr_vcpus = max_vcpus;
    d->max_pages = UINT64_MAX;
    d->resumed_fast = -1;
    d->created_ns = d->epoch_ns = xsim_now_ns();
    atomic_store(&d->refs, 1);
    pthread_mutex_init(&d->ctl, NULL);
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_cond_init(&d->cv_parked, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; i < XSIM_STAMP_LOCKS; i++) atomic_flag_clear(&d->stamp_locks[i]);

    pthread_mutex_lock(&table_lock);
    uint32_t id = want;
    if (id) {
        if (table[id]) {
            pthread_mutex_unlock(&table_lock);
            atomic_store(&d->refs, 0);
            free_domain(d);
            return EEXIST;
        }
    } else {
        for (id = 1; id < XSIM_MAX_DOMID && table[id]; id++) {}
        if (id == XSIM_MAX_DOMID) {
            pthread_mutex_unlock(&table_lock);
            free_domain(d);
            return ENOSPC;
        }
    }
    d->domid = id;
    table[id] = d;
    atomic_fetch_add(&d->refs, 1); /* the caller's reference */
    pthread_mutex_unlock(&table_lock);
    *out = d;
    return 0;

nomem:
    free_domain(d);
    return ENOMEM;
}

int xsim_destroy(uint32_t domid)
{
    struct xsim_domain *d = NULL;
    pthread_mutex_lock(&table_lock);
    if (domid < XSIM_MAX_DOMID) {
        d = table[domid];
        table[domid] = NULL;
    }
    pthread_mutex_unlock(&table_lock);
    if (!d) return ESRCH;
    atomic_store(&d->dead, 1);
    /* xenstored forgets the connection; the nodes stay for the toolstack to remove. */
    xsim_xs_domain_gone(domid);
    pthread_mutex_lock(&d->ctl);
    xsim_stop_writers(d);
    pthread_mutex_unlock(&d->ctl);
    xsim_put(d); /* the table's reference; memory goes with the last caller */
    return 0;
}

void xsim_populate(struct xsim_domain *d, uint64_t pfn, uint64_t count)
{
    for (uint64_t p = pfn; p < pfn + count; p++) {
        uint64_t bit = 1ULL << (p % 64);
        if (!(atomic_fetch_or(&d->populated[p / 64], bit) & bit)) atomic_fetch_add(&d->tot_pages, 1);
    }
    uint64_t last = pfn + count - 1, cur = atomic_load(&d->max_gpfn);
    while (last > cur && !atomic_compare_exchange_weak(&d->max_gpfn, &cur, last)) {}
}

int xsim_is_populated(struct xsim_domain *d, uint64_t pfn)
{
    return pfn < d->pfn_space && (atomic_load(&d->populated[pfn / 64]) >> (pfn % 64)) & 1;
}

int xsim_for_each_domain(uint32_t first, int (*fn)(struct xsim_domain *, void *), void *arg)
{
    int n = 0;
    pthread_mutex_lock(&table_lock);
    for (uint32_t id = first; id < XSIM_MAX_DOMID; id++) {
        if (!table[id] || atomic_load(&table[id]->dead)) continue;
        n++;
        if (fn(table[id], arg)) break;
    }
    pthread_mutex_unlock(&table_lock);
    return n;
}

void xsim_reset_all(void)
{
    xsim_agent_reset(); /* first: its worker holds domain references */
    for (uint32_t id = 0; id < XSIM_MAX_DOMID; id++) xsim_destroy(id);
    xsim_xs_reset();
}

/* Unloading the library (the last dlclose, or process teardown) with guests
 * still running would leave their writer threads executing unmapped code:
 * stop them first. */
__attribute__((destructor)) static void xsim_unload(void)
{
    xsim_reset_all();
}
