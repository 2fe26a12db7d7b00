/*
 * libxenforeignmemory: real mappings of the guest's memfd, so callers read
 * and write guest pages through ordinary pointers exactly as on Xen.
 * Out-of-range pfns fail per page (EINVAL) and are counted; holes fail
 * with ENOENT.  Failed pages stay PROT_NONE, like privcmd's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "xsim.h"

struct fmem {
    uint32_t magic;
};

struct mapping {
    void *addr;
    size_t pages;
};

#define FMEM_MAGIC 0x666d656dU

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *maps;
static size_t maps_len, maps_cap;

int64_t xsim_mappings_live(void)
{
    pthread_mutex_lock(&map_lock);
    int64_t n = (int64_t)maps_len;
    pthread_mutex_unlock(&map_lock);
    return n;
}

static int check_fmem(void *h, const char *call)
{
    if (!h || ((struct fmem *)h)->magic != FMEM_MAGIC)
        return xsim_fail(EBADF, "%s: invalid xenforeignmemory handle", call);
    return 0;
}

XSIM_EXPORT void *xenforeignmemory_open(void *logger, unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    struct fmem *h = calloc(1, sizeof(*h));
    if (!h) {
        xsim_fail(ENOMEM, "xenforeignmemory_open: out of memory");
        return NULL;
    }
    h->magic = FMEM_MAGIC;
    return h;
}

XSIM_EXPORT int xenforeignmemory_close(void *h)
{
    if (!h) return 0;
    if (check_fmem(h, "xenforeignmemory_close")) return -1;
    ((struct fmem *)h)->magic = 0;
    free(h);
    return 0;
}

XSIM_EXPORT void *xenforeignmemory_map(void *h, uint32_t dom, int prot, size_t pages,
                                       const uint64_t arr[], int err[])
{
    if (check_fmem(h, "xenforeignmemory_map")) return NULL;
    if (pages == 0 || !arr) {
        xsim_fail(EINVAL, "xenforeignmemory_map: no pages");
        return NULL;
    }
    struct xsim_domain *d = xsim_get(dom, "xenforeignmemory_map");
    if (!d) return NULL;
    uint8_t *base = mmap(NULL, pages * XSIM_PAGE, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        xsim_put(d);
        xsim_fail(ENOMEM, "xenforeignmemory_map: %zu pages", pages);
        return NULL;
    }
    uint64_t max = atomic_load(&d->max_gpfn);
    int first_err = 0;
    size_t i = 0;
    while (i < pages) {
        uint64_t pfn = arr[i];
        int e = 0;
        if (pfn > max || pfn >= d->pfn_space) {
            xsim_count_out_of_range(d);
            e = EINVAL;
        } else if (!xsim_is_populated(d, pfn)) {
            atomic_fetch_add(&d->hole_access, 1);
            e = ENOENT;
        }
        if (e) {
            if (err) err[i] = -e; /* privcmd reports negative errno values */
            if (!first_err) first_err = e;
            i++;
            continue;
        }
        /* Coalesce runs of consecutive populated pfns into one mmap. */
        size_t run = 1;
        while (i + run < pages && arr[i + run] == pfn + run && pfn + run <= max &&
               xsim_is_populated(d, pfn + run))
            run++;
        void *at = mmap(base + i * XSIM_PAGE, run * XSIM_PAGE, prot, MAP_SHARED | MAP_FIXED,
                        d->memfd, (off_t)(pfn * XSIM_PAGE));
        for (size_t k = 0; k < run; k++) {
            if (err) err[i + k] = at == MAP_FAILED ? -errno : 0;
        }
        if (at == MAP_FAILED && !first_err) first_err = errno;
        i += run;
    }
    xsim_put(d);
    if (first_err && !err) {
        munmap(base, pages * XSIM_PAGE);
        xsim_fail(first_err, "xenforeignmemory_map: domain %u: a page failed", dom);
        return NULL;
    }
    pthread_mutex_lock(&map_lock);
    if (maps_len == maps_cap) {
        size_t cap = maps_cap ? maps_cap * 2 : 16;
        struct mapping *m = realloc(maps, cap * sizeof(*m));
        if (!m) {
            pthread_mutex_unlock(&map_lock);
            munmap(base, pages * XSIM_PAGE);
            xsim_fail(ENOMEM, "xenforeignmemory_map: bookkeeping");
            return NULL;
        }
        maps = m;
        maps_cap = cap;
    }
    maps[maps_len++] = (struct mapping){base, pages};
    pthread_mutex_unlock(&map_lock);
    return base;
}

XSIM_EXPORT int xenforeignmemory_unmap(void *h, void *addr, size_t pages)
{
    if (check_fmem(h, "xenforeignmemory_unmap")) return -1;
    pthread_mutex_lock(&map_lock);
    for (size_t i = 0; i < maps_len; i++) {
        if (maps[i].addr == addr && maps[i].pages == pages) {
            maps[i] = maps[--maps_len];
            pthread_mutex_unlock(&map_lock);
            munmap(addr, pages * XSIM_PAGE);
            return 0;
        }
    }
    pthread_mutex_unlock(&map_lock);
    return xsim_fail(EINVAL, "xenforeignmemory_unmap: %p (%zu pages) is not a mapping", addr, pages);
}
