/*
 * Page stamps: every simulated guest write leaves a page that can be
 * verified on its own.  Bytes 0-7 hold the pfn, 8-15 the generation
 * (>= 1), and the rest is an xorshift32 stream seeded from both, so a
 * torn, misplaced or stale copy is detectable.  lib/xen/page_stamp.ts
 * implements the same check in TypeScript.
 */
#define _GNU_SOURCE
#include <string.h>

#include "xsim.h"

static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bU;
    h ^= h >> 13;
    h *= 0xc2b2ae35U;
    h ^= h >> 16;
    return h;
}

static uint32_t stamp_seed(uint64_t pfn, uint64_t gen)
{
    uint32_t s = fmix32((uint32_t)pfn) ^ fmix32((uint32_t)(pfn >> 32) ^ 0x68e31da4U) ^
                 fmix32((uint32_t)gen ^ 0xb5297a4dU) ^ fmix32((uint32_t)(gen >> 32) ^ 0x1b56c4e9U);
    return s ? s : 0x9e3779b9U;
}

void xsim_stamp(uint8_t *page, uint64_t pfn, uint64_t gen)
{
    uint32_t *w = (uint32_t *)page;
    uint32_t s = stamp_seed(pfn, gen);
    for (size_t i = 4; i < XSIM_PAGE / 4; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        w[i] = s;
    }
    memcpy(page, &pfn, 8);
    memcpy(page + 8, &gen, 8);
}

int xsim_check_stamp(const uint8_t *page, uint64_t pfn)
{
    uint64_t got_pfn, gen;
    memcpy(&got_pfn, page, 8);
    memcpy(&gen, page + 8, 8);
    if (gen == 0) {
        for (size_t i = 0; i < XSIM_PAGE; i++)
            if (page[i]) return -1;
        return 0; /* never written: populated pages start zeroed */
    }
    if (got_pfn != pfn) return -1;
    const uint32_t *w = (const uint32_t *)page;
    uint32_t s = stamp_seed(pfn, gen);
    for (size_t i = 4; i < XSIM_PAGE / 4; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        if (w[i] != s) return -1;
    }
    return 1;
}

void xsim_write_page(struct xsim_domain *d, uint64_t pfn)
{
    uint64_t gen = atomic_fetch_add(&d->gen, 1) + 1;
    /* Striped lock: two vcpus hitting one page must not tear its stamp. */
    atomic_flag *l = &d->stamp_locks[pfn % XSIM_STAMP_LOCKS];
    while (atomic_flag_test_and_set_explicit(l, memory_order_acquire)) {}
    xsim_stamp(d->mem + pfn * XSIM_PAGE, pfn, gen);
    atomic_flag_clear_explicit(l, memory_order_release);
    /* Mark after the write: a CLEAN racing with us reports it now or next round. */
    xsim_mark_dirty(d, pfn);
    atomic_fetch_add(&d->writes, 1);
}
