/* xsim_*: simulator-only controls (create from a spec, workload, stats, checks). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "xsim.h"

static void populate_hvm_layout(struct xsim_domain *d, uint64_t pages)
{
    uint64_t left = pages, n;
    n = left < XSIM_VGA_HOLE_START ? left : XSIM_VGA_HOLE_START;
    xsim_populate(d, 0, n);
    left -= n;
    n = left < XSIM_LOWMEM_END - XSIM_VGA_HOLE_END ? left : XSIM_LOWMEM_END - XSIM_VGA_HOLE_END;
    if (n) xsim_populate(d, XSIM_VGA_HOLE_END, n);
    left -= n;
    if (left) xsim_populate(d, XSIM_HIGHMEM_START, left);
    xsim_populate(d, XSIM_SPECIAL_PFN, XSIM_SPECIAL_PAGES);
}

static uint64_t layout_pfn_space(uint64_t pages)
{
    uint64_t low = XSIM_VGA_HOLE_START + (XSIM_LOWMEM_END - XSIM_VGA_HOLE_END);
    uint64_t end = XSIM_SPECIAL_PFN + XSIM_SPECIAL_PAGES;
    if (pages > low) end = XSIM_HIGHMEM_START + (pages - low);
    return end;
}

XSIM_EXPORT int32_t xsim_domain_create(uint64_t mem_bytes, uint32_t vcpus, uint32_t domid, double rate,
                                       uint32_t pattern, double hot_fraction, uint32_t on_ms,
                                       uint32_t off_ms)
{
    uint64_t pages = mem_bytes / XSIM_PAGE;
    if (mem_bytes % XSIM_PAGE || pages < (64ULL << 20) / XSIM_PAGE || pages > (8ULL << 30) / XSIM_PAGE)
        return -EINVAL;
    struct xsim_domain *d;
    int rc = xsim_new_domain(domid, layout_pfn_space(pages), vcpus, &d);
    if (rc) return -rc;
    d->spec_created = 1;
    d->cdf_flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
    d->emulation_flags = XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI;
    for (int i = 0; i < 16; i++) d->handle[i] = (uint8_t)(d->domid * 16 + i);
    populate_hvm_layout(d, pages);
    xsim_init_hvm_state(d);
    struct xsim_workload wl = {rate, (int)pattern, hot_fraction, on_ms, off_ms};
    pthread_mutex_lock(&d->ctl);
    rc = xsim_set_workload_locked(d, &wl);
    pthread_mutex_unlock(&d->ctl);
    uint32_t id = d->domid;
    xsim_put(d);
    if (rc) {
        xsim_destroy(id);
        return -rc;
    }
    return (int32_t)id;
}

XSIM_EXPORT int32_t xsim_set_workload(uint32_t domid, double rate, uint32_t pattern, double hot_fraction,
                                      uint32_t on_ms, uint32_t off_ms)
{
    if (pattern > XSIM_BURSTY || rate < 0 || hot_fraction < 0 || hot_fraction > 1) return -EINVAL;
    if (pattern == XSIM_BURSTY && on_ms + off_ms == 0) return -EINVAL;
    struct xsim_domain *d = xsim_get(domid, "xsim_set_workload");
    if (!d) return -ESRCH;
    struct xsim_workload wl = {rate, (int)pattern, hot_fraction, on_ms, off_ms};
    pthread_mutex_lock(&d->ctl);
    int rc = xsim_set_workload_locked(d, &wl);
    pthread_mutex_unlock(&d->ctl);
    xsim_put(d);
    return -rc;
}

/* Index order is part of the ABI with lib/xen/sim_control.ts. */
XSIM_EXPORT int32_t xsim_domain_stats(uint32_t domid, uint64_t *out, uint32_t n)
{
    struct xsim_domain *d = xsim_get(domid, "xsim_domain_stats");
    if (!d) return -ESRCH;
    uint64_t xs_mfn = 0;
    uint32_t xs_port = 0;
    int introduced = xsim_xs_introduced(domid, &xs_mfn, &xs_port); /* not under d->lock */
    pthread_mutex_lock(&d->lock);
    uint64_t v[] = {
        atomic_load(&d->writes),        atomic_load(&d->gen),
        atomic_load(&d->out_of_range),  atomic_load(&d->hole_access),
        (uint64_t)d->pause_count,       (uint64_t)d->nwriters,
        (uint64_t)d->parked,            atomic_load(&d->tot_pages),
        atomic_load(&d->max_gpfn),      (uint64_t)atomic_load(&d->logdirty),
        atomic_load(&d->fault_count),   atomic_load(&d->dirty_count),
        d->nram,                        d->nr_vcpus,
        /* 14.. shutdown, resume, PV channels, xenstore, guest agent */
        (uint64_t)atomic_load(&d->shut),
        (uint64_t)(atomic_load(&d->shut) ? atomic_load(&d->shutdown_reason) : 0),
        d->resumes,                     (uint64_t)(d->resumed_fast > 0), /* last resume's fast */
        d->evtchn_ports,                (uint64_t)d->gnttab_seeded,
        d->console_gfn,                 d->xenstore_gfn,
        d->console_domid,               d->xenstore_domid,
        (uint64_t)introduced,           xs_mfn,
        xs_port,                        (uint64_t)atomic_load(&d->agent_enabled),
        atomic_load(&d->agent_ack_ms),  atomic_load(&d->agent_answers),
    };
    pthread_mutex_unlock(&d->lock);
    xsim_put(d);
    uint32_t count = sizeof(v) / sizeof(v[0]);
    memcpy(out, v, (n < count ? n : count) * sizeof(uint64_t));
    return (int32_t)count;
}

int64_t xsim_handles_live(void);

XSIM_EXPORT int32_t xsim_global_stats(uint64_t *out, uint32_t n)
{
    uint64_t v[] = {
        (uint64_t)xsim_buffers_live(), xsim_buffers_total(), xsim_buffers_bad(),
        (uint64_t)xsim_mappings_live(), (uint64_t)xsim_handles_live(), xsim_out_of_range_total(),
        (uint64_t)xsim_xs_handles_live(), (uint64_t)xsim_xs_transactions_live(),
        (uint64_t)xsim_xs_nodes(),
    };
    uint32_t count = sizeof(v) / sizeof(v[0]);
    memcpy(out, v, (n < count ? n : count) * sizeof(uint64_t));
    return (int32_t)count;
}

XSIM_EXPORT int32_t xsim_verify_page(const uint8_t *page, uint64_t pfn)
{
    return xsim_check_stamp(page, pfn);
}

static int locked_check(struct xsim_domain *d, uint64_t pfn, uint64_t *gen)
{
    atomic_flag *l = &d->stamp_locks[pfn % XSIM_STAMP_LOCKS];
    while (atomic_flag_test_and_set_explicit(l, memory_order_acquire)) {}
    const uint8_t *page = d->mem + pfn * XSIM_PAGE;
    int rc = xsim_check_stamp(page, pfn);
    if (gen) memcpy(gen, page + 8, 8);
    atomic_flag_clear_explicit(l, memory_order_release);
    return rc;
}

XSIM_EXPORT int64_t xsim_verify_domain(uint32_t domid, uint64_t *first_bad)
{
    struct xsim_domain *d = xsim_get(domid, "xsim_verify_domain");
    if (!d) return -ESRCH;
    int64_t bad = 0;
    uint64_t max = atomic_load(&d->max_gpfn);
    for (uint64_t p = 0; p <= max; p++) {
        if (!xsim_is_populated(d, p) || locked_check(d, p, NULL) >= 0) continue;
        if (!bad++ && first_bad) *first_bad = p;
    }
    xsim_put(d);
    return bad;
}

XSIM_EXPORT int64_t xsim_page_generation(uint32_t domid, uint64_t pfn)
{
    struct xsim_domain *d = xsim_get(domid, "xsim_page_generation");
    if (!d) return -ESRCH;
    int64_t rc;
    uint64_t gen = 0;
    if (pfn > atomic_load(&d->max_gpfn) || !xsim_is_populated(d, pfn)) rc = -EINVAL;
    else rc = locked_check(d, pfn, &gen) < 0 ? -EIO : (int64_t)gen;
    xsim_put(d);
    return rc;
}

XSIM_EXPORT int64_t xsim_write_pages(uint32_t domid, const uint64_t *pfns, uint64_t n)
{
    struct xsim_domain *d = xsim_get(domid, "xsim_write_pages");
    if (!d) return -ESRCH;
    uint64_t max = atomic_load(&d->max_gpfn);
    for (uint64_t i = 0; i < n; i++) {
        if (pfns[i] > max || !xsim_is_populated(d, pfns[i])) {
            if (pfns[i] > max) xsim_count_out_of_range(d);
            xsim_put(d);
            return -EINVAL;
        }
    }
    for (uint64_t i = 0; i < n; i++) xsim_write_page(d, pfns[i]);
    xsim_put(d);
    return (int64_t)n;
}

XSIM_EXPORT void xsim_reset(void)
{
    xsim_reset_all();
}

XSIM_EXPORT int32_t xsim_destroy_domain(uint32_t domid)
{
    return -xsim_destroy(domid);
}
