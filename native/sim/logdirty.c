/*
 * Log-dirty tracking with Xen's semantics, and the hypercall buffers its
 * bitmap travels in.  Writers set a bit *after* their write with an atomic
 * OR; CLEAN atomically exchanges whole words, so a page written between two
 * CLEANs is always reported by the second (or, if its write straddles the
 * CLEAN, by the next one) and never lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xsim.h"

void xsim_mark_dirty(struct xsim_domain *d, uint64_t pfn)
{
    if (!atomic_load_explicit(&d->logdirty, memory_order_acquire)) return;
    uint64_t bit = 1ULL << (pfn % 64);
    atomic_fetch_add(&d->fault_count, 1);
    if (!(atomic_fetch_or_explicit(&d->dirty[pfn / 64], bit, memory_order_acq_rel) & bit))
        atomic_fetch_add(&d->dirty_count, 1);
}

/* ---- hypercall buffers ------------------------------------------------ */

struct hbuf {
    void *addr;
    int pages;
};

static pthread_mutex_t hb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hbuf *hb;
static size_t hb_len, hb_cap;
static uint64_t hb_total, hb_bad;

int64_t xsim_buffers_live(void)
{
    pthread_mutex_lock(&hb_lock);
    int64_t n = (int64_t)hb_len;
    pthread_mutex_unlock(&hb_lock);
    return n;
}

uint64_t xsim_buffers_total(void) { return hb_total; }
uint64_t xsim_buffers_bad(void) { return hb_bad; }

void *xsim_buffer_lookup(void *addr, size_t *capacity)
{
    void *found = NULL;
    pthread_mutex_lock(&hb_lock);
    for (size_t i = 0; i < hb_len; i++) {
        if (hb[i].addr == addr) {
            found = addr;
            *capacity = (size_t)hb[i].pages * XSIM_PAGE;
        }
    }
    pthread_mutex_unlock(&hb_lock);
    return found;
}

XSIM_EXPORT void *xc__hypercall_buffer_alloc_pages(void *xch, struct xc_hypercall_buffer *b, int nr_pages)
{
    if (xsim_check_xch(xch, "xc__hypercall_buffer_alloc_pages")) return NULL;
    if (!b || nr_pages <= 0) {
        xsim_fail(EINVAL, "xc__hypercall_buffer_alloc_pages: bad arguments");
        return NULL;
    }
    void *p = mmap(NULL, (size_t)nr_pages * XSIM_PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        xsim_fail(ENOMEM, "xc__hypercall_buffer_alloc_pages: %d pages", nr_pages);
        return NULL;
    }
    pthread_mutex_lock(&hb_lock);
    if (hb_len == hb_cap) {
        size_t cap = hb_cap ? hb_cap * 2 : 16;
        struct hbuf *n = realloc(hb, cap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&hb_lock);
            munmap(p, (size_t)nr_pages * XSIM_PAGE);
            xsim_fail(ENOMEM, "xc__hypercall_buffer_alloc_pages: bookkeeping");
            return NULL;
        }
        hb = n;
        hb_cap = cap;
    }
    hb[hb_len++] = (struct hbuf){p, nr_pages};
    hb_total++;
    pthread_mutex_unlock(&hb_lock);
    b->hbuf = p;
    return p;
}

XSIM_EXPORT void xc__hypercall_buffer_free_pages(void *xch, struct xc_hypercall_buffer *b, int nr_pages)
{
    (void)xch;
    if (!b || !b->hbuf) return;
    pthread_mutex_lock(&hb_lock);
    for (size_t i = 0; i < hb_len; i++) {
        if (hb[i].addr == b->hbuf && hb[i].pages == nr_pages) {
            munmap(hb[i].addr, (size_t)nr_pages * XSIM_PAGE);
            hb[i] = hb[--hb_len];
            pthread_mutex_unlock(&hb_lock);
            b->hbuf = NULL;
            return;
        }
    }
    hb_bad++; /* unknown buffer or wrong size: recorded, never a crash */
    pthread_mutex_unlock(&hb_lock);
}

/* ---- XEN_DOMCTL_shadow_op --------------------------------------------- */

static long long bitmap_op(struct xsim_domain *d, unsigned sop, struct xc_hypercall_buffer *buf,
                           unsigned long pages, struct xen_domctl_shadow_op_stats *stats)
{
    if (!atomic_load(&d->logdirty))
        return xsim_fail(EINVAL, "xc_logdirty_control: log-dirty not enabled on domain %u", d->domid);
    uint64_t p2m_size = atomic_load(&d->max_gpfn) + 1;
    if (pages > p2m_size) pages = p2m_size; /* Xen clips to the p2m size */
    uint8_t *out = NULL;
    if (buf) {
        /* Follow param_shadow like HYPERCALL_BUFFER() does. */
        struct xc_hypercall_buffer *hbuf = buf->param_shadow ? buf->param_shadow : buf;
        size_t cap = 0;
        out = xsim_buffer_lookup(hbuf->hbuf, &cap);
        if (!out) return xsim_fail(EFAULT, "xc_logdirty_control: bitmap is not a hypercall buffer");
        if (cap < (pages + 7) / 8)
            return xsim_fail(EFAULT, "xc_logdirty_control: bitmap of %zu bytes < %lu pages", cap, pages);
    }
    int clean = sop == XEN_DOMCTL_SHADOW_OP_CLEAN;
    uint64_t words = pages / 64, rest = pages % 64;
    for (uint64_t i = 0; i <= words; i++) {
        uint64_t mask = i < words ? ~0ULL : rest ? (1ULL << rest) - 1 : 0;
        if (!mask) break;
        uint64_t v;
        if (!clean) v = atomic_load(&d->dirty[i]) & mask;
        else if (mask == ~0ULL) v = atomic_exchange(&d->dirty[i], 0);
        else v = atomic_fetch_and(&d->dirty[i], ~mask) & mask;
        if (out) {
            size_t nbytes = i < words ? 8 : (size_t)(rest + 7) / 8;
            memcpy(out + i * 8, &v, nbytes); /* little-endian, like Xen's unsigned longs */
        }
    }
    /* The count is read after the scan, with marks still landing, so it can
     * disagree with the bits returned.  Xen's can too: a preempted CLEAN
     * drops the paging lock between continuations, backends' writes mark
     * pages meanwhile, and the count is zeroed at the end -- a bit can stay
     * for the next round with its count gone.  The bitmap is the truth. */
    if (stats) {
        stats->fault_count = clean ? atomic_exchange(&d->fault_count, 0) : atomic_load(&d->fault_count);
        stats->dirty_count = clean ? atomic_exchange(&d->dirty_count, 0) : atomic_load(&d->dirty_count);
    }
    return (long long)pages;
}

XSIM_EXPORT long long xc_logdirty_control(void *xch, uint32_t domid, unsigned int sop,
                                          struct xc_hypercall_buffer *dirty_bitmap,
                                          unsigned long pages, unsigned int mode,
                                          struct xen_domctl_shadow_op_stats *stats)
{
    if (xsim_check_xch(xch, "xc_logdirty_control")) return -1;
    struct xsim_domain *d = xsim_get(domid, "xc_logdirty_control");
    if (!d) return -1;
    long long rc = 0;
    switch (sop) {
    case XEN_DOMCTL_SHADOW_OP_ENABLE:
        if (!(mode & XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY)) {
            rc = xsim_fail(EINVAL, "xc_logdirty_control: only log-dirty shadow mode is simulated");
            break;
        }
        /* fall through */
    case XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY: {
        int expected = 0;
        if (!atomic_compare_exchange_strong(&d->logdirty, &expected, 1))
            rc = xsim_fail(EINVAL, "xc_logdirty_control: log-dirty already enabled on domain %u", domid);
        break;
    }
    case XEN_DOMCTL_SHADOW_OP_OFF:
        atomic_store(&d->logdirty, 0);
        for (uint64_t i = 0; i < (d->pfn_space + 63) / 64; i++) atomic_store(&d->dirty[i], 0);
        atomic_store(&d->fault_count, 0);
        atomic_store(&d->dirty_count, 0);
        break;
    case XEN_DOMCTL_SHADOW_OP_CLEAN:
    case XEN_DOMCTL_SHADOW_OP_PEEK:
        rc = bitmap_op(d, sop, dirty_bitmap, pages, stats);
        break;
    default:
        rc = xsim_fail(EINVAL, "xc_logdirty_control: unsupported op %u", sop);
    }
    xsim_put(d);
    return rc;
}
