/* The libxenctrl calls save/restore of HVM guests need, over simulated domains. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsim.h"

#define ENTER(call)                                        \
    if (xsim_check_xch(xch, call)) return -1;              \
    struct xsim_domain *d = xsim_get(domid, call);         \
    if (!d) return -1

static int leave(struct xsim_domain *d, int rc)
{
    xsim_put(d);
    return rc;
}

struct list_arg {
    struct xen_domctl_getdomaininfo *info;
    unsigned max, n;
};

static int fill_info(struct xsim_domain *d, void *p)
{
    struct list_arg *a = p;
    if (a->n == a->max) return 1;
    struct xen_domctl_getdomaininfo *i = &a->info[a->n++];
    memset(i, 0, sizeof(*i));
    i->domain = (uint16_t)d->domid;
    int paused = atomic_load(&d->paused), shut = atomic_load(&d->shut);
    /* As getdomaininfo: paused is the controller's pause alone; a shut-down
     * domain carries its reason and has no running vcpu. */
    i->flags = (paused ? XEN_DOMINF_paused : 0) | (!paused && !shut ? XEN_DOMINF_running : 0) |
               (shut ? XEN_DOMINF_shutdown |
                           ((uint32_t)(atomic_load(&d->shutdown_reason) & XEN_DOMINF_shutdownmask)
                            << XEN_DOMINF_shutdownshift)
                     : 0) |
               ((d->cdf_flags & XEN_DOMCTL_CDF_hvm) ? XEN_DOMINF_hvm_guest : 0) |
               ((d->cdf_flags & XEN_DOMCTL_CDF_hap) ? XEN_DOMINF_hap : 0);
    i->tot_pages = atomic_load(&d->tot_pages);
    i->max_pages = d->max_pages == UINT64_MAX ? i->tot_pages : d->max_pages;
    i->shared_info_frame = XSIM_SPECIAL_PFN + 5;
    i->cpu_time = xsim_now_ns() - d->created_ns;
    i->nr_online_vcpus = d->nr_vcpus;
    i->max_vcpu_id = d->nr_vcpus ? d->nr_vcpus - 1 : XEN_INVALID_MAX_VCPU_ID;
    memcpy(i->handle, d->handle, 16);
    /* The guest's physical address width covers exactly its pfn space, so
     * callers (restore) can tell which pfns are out of range. */
    i->gpaddr_bits = 12;
    while (i->gpaddr_bits < 64 && (1ULL << (i->gpaddr_bits - 12)) < d->pfn_space) i->gpaddr_bits++;
    i->arch_config_emulation_flags = d->emulation_flags;
    i->arch_config_misc_flags = d->misc_flags;
    return 0;
}

XSIM_EXPORT int xc_domain_getinfolist(void *xch, uint32_t first_domain, unsigned int max_domains,
                                      struct xen_domctl_getdomaininfo *info)
{
    if (xsim_check_xch(xch, "xc_domain_getinfolist")) return -1;
    if (!info && max_domains) return xsim_fail(EFAULT, "xc_domain_getinfolist: NULL info");
    struct list_arg a = {info, max_domains, 0};
    if (max_domains) xsim_for_each_domain(first_domain, fill_info, &a);
    return (int)a.n;
}

XSIM_EXPORT int xc_domain_pause(void *xch, uint32_t domid)
{
    ENTER("xc_domain_pause");
    int rc = xsim_pause(d);
    return leave(d, rc ? xsim_fail(rc, "xc_domain_pause: domain %u", domid) : 0);
}

XSIM_EXPORT int xc_domain_unpause(void *xch, uint32_t domid)
{
    ENTER("xc_domain_unpause");
    int rc = xsim_unpause(d);
    return leave(d, rc ? xsim_fail(rc, "xc_domain_unpause: domain %u is not paused", domid) : 0);
}

XSIM_EXPORT int xc_domain_maximum_gpfn(void *xch, uint32_t domid, uint64_t *gpfns)
{
    ENTER("xc_domain_maximum_gpfn");
    if (!gpfns) return leave(d, xsim_fail(EFAULT, "xc_domain_maximum_gpfn: NULL out"));
    *gpfns = atomic_load(&d->max_gpfn);
    return leave(d, 0);
}

/* No populate-on-demand in the simulator: every populated pfn is a page. */
XSIM_EXPORT int xc_domain_get_pod_target(void *xch, uint32_t domid, uint64_t *tot_pages,
                                         uint64_t *pod_cache_pages, uint64_t *pod_entries)
{
    ENTER("xc_domain_get_pod_target");
    if (tot_pages) *tot_pages = atomic_load(&d->tot_pages);
    if (pod_cache_pages) *pod_cache_pages = 0;
    if (pod_entries) *pod_entries = 0;
    return leave(d, 0);
}

XSIM_EXPORT int xc_get_pfn_type_batch(void *xch, uint32_t domid, unsigned int num, uint64_t *arr)
{
    ENTER("xc_get_pfn_type_batch");
    if (num > 1024) return leave(d, xsim_fail(E2BIG, "xc_get_pfn_type_batch: %u > 1024 pfns", num));
    if (!arr && num) return leave(d, xsim_fail(EFAULT, "xc_get_pfn_type_batch: NULL array"));
    uint64_t max = atomic_load(&d->max_gpfn);
    for (unsigned i = 0; i < num; i++) {
        uint64_t pfn = arr[i];
        if (pfn > max) xsim_count_out_of_range(d);
        /* HVM guests have only ordinary pages; holes read as XTAB. */
        arr[i] = pfn <= max && xsim_is_populated(d, pfn) ? XEN_DOMCTL_PFINFO_NOTAB : XEN_DOMCTL_PFINFO_XTAB;
    }
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_hvm_getcontext(void *xch, uint32_t domid, uint8_t *buf, uint32_t size)
{
    ENTER("xc_domain_hvm_getcontext");
    pthread_mutex_lock(&d->lock);
    int rc = d->hvm_ctx ? 0 : xsim_build_hvm_context(d);
    if (rc) {
        pthread_mutex_unlock(&d->lock);
        return leave(d, xsim_fail(rc, "xc_domain_hvm_getcontext: domain %u", domid));
    }
    uint32_t len = d->hvm_ctx_len;
    if (buf && size) {
        if (size < len) {
            pthread_mutex_unlock(&d->lock);
            return leave(d, xsim_fail(ENOSPC, "xc_domain_hvm_getcontext: %u < %u bytes", size, len));
        }
        memcpy(buf, d->hvm_ctx, len);
    }
    pthread_mutex_unlock(&d->lock);
    return leave(d, (int)len); /* NULL buffer: a size query, as in Xen */
}

XSIM_EXPORT int xc_domain_hvm_setcontext(void *xch, uint32_t domid, uint8_t *buf, uint32_t size)
{
    ENTER("xc_domain_hvm_setcontext");
    if (!buf || !size) return leave(d, xsim_fail(EINVAL, "xc_domain_hvm_setcontext: empty blob"));
    if (xsim_validate_hvm_context(d, buf, size)) return leave(d, -1);
    uint8_t *copy = malloc(size);
    if (!copy) return leave(d, xsim_fail(ENOMEM, "xc_domain_hvm_setcontext: %u bytes", size));
    memcpy(copy, buf, size);
    pthread_mutex_lock(&d->lock);
    free(d->hvm_ctx);
    d->hvm_ctx = copy;
    d->hvm_ctx_len = size;
    pthread_mutex_unlock(&d->lock);
    return leave(d, 0);
}

XSIM_EXPORT int xc_hvm_param_get(void *xch, uint32_t domid, uint32_t param, uint64_t *value)
{
    ENTER("xc_hvm_param_get");
    if (param >= HVM_NR_PARAMS)
        return leave(d, xsim_fail(EINVAL, "xc_hvm_param_get: param %u >= HVM_NR_PARAMS", param));
    pthread_mutex_lock(&d->lock);
    *value = d->params[param];
    pthread_mutex_unlock(&d->lock);
    return leave(d, 0);
}

XSIM_EXPORT int xc_hvm_param_set(void *xch, uint32_t domid, uint32_t param, uint64_t value)
{
    ENTER("xc_hvm_param_set");
    if (param >= HVM_NR_PARAMS)
        return leave(d, xsim_fail(EINVAL, "xc_hvm_param_set: param %u >= HVM_NR_PARAMS", param));
    pthread_mutex_lock(&d->lock);
    d->params[param] = value;
    pthread_mutex_unlock(&d->lock);
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_get_tsc_info(void *xch, uint32_t domid, uint32_t *tsc_mode,
                                       uint64_t *elapsed_nsec, uint32_t *gtsc_khz,
                                       uint32_t *incarnation)
{
    ENTER("xc_domain_get_tsc_info");
    pthread_mutex_lock(&d->lock);
    *tsc_mode = d->tsc_mode;
    *elapsed_nsec = d->elapsed_nsec + (xsim_now_ns() - d->created_ns);
    *gtsc_khz = d->gtsc_khz;
    *incarnation = d->incarnation;
    pthread_mutex_unlock(&d->lock);
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_set_tsc_info(void *xch, uint32_t domid, uint32_t tsc_mode,
                                       uint64_t elapsed_nsec, uint32_t gtsc_khz,
                                       uint32_t incarnation)
{
    ENTER("xc_domain_set_tsc_info");
    if (tsc_mode > 3) return leave(d, xsim_fail(EINVAL, "xc_domain_set_tsc_info: tsc_mode %u", tsc_mode));
    pthread_mutex_lock(&d->lock);
    d->tsc_mode = tsc_mode;
    d->created_ns = xsim_now_ns(); /* elapsed restarts from the restored value */
    d->elapsed_nsec = elapsed_nsec;
    d->gtsc_khz = gtsc_khz;
    d->incarnation = incarnation;
    pthread_mutex_unlock(&d->lock);
    return leave(d, 0);
}

XSIM_EXPORT int xc_vcpu_getinfo(void *xch, uint32_t domid, uint32_t vcpu,
                                struct xen_domctl_getvcpuinfo *info)
{
    ENTER("xc_vcpu_getinfo");
    if (vcpu >= d->nr_vcpus)
        return leave(d, xsim_fail(EINVAL, "xc_vcpu_getinfo: vcpu %u >= %u", vcpu, d->nr_vcpus));
    memset(info, 0, sizeof(*info));
    info->vcpu = vcpu;
    info->online = 1;
    info->running = !xsim_held(d);
    info->blocked = 0;
    info->cpu_time = xsim_now_ns() - d->created_ns;
    info->cpu = vcpu % 2;
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_create(void *xch, uint32_t *pdomid, struct xen_domctl_createdomain *config)
{
    if (xsim_check_xch(xch, "xc_domain_create")) return -1;
    if (!pdomid || !config) return xsim_fail(EFAULT, "xc_domain_create: NULL argument");
    if (!(config->flags & XEN_DOMCTL_CDF_hvm))
        return xsim_fail(EOPNOTSUPP, "xc_domain_create: the simulator holds HVM/PVH guests only");
    if (config->max_vcpus == 0 || config->max_vcpus > XSIM_MAX_VCPUS)
        return xsim_fail(EINVAL, "xc_domain_create: max_vcpus %u not in 1..%d", config->max_vcpus,
                         XSIM_MAX_VCPUS);
    /* Like Xen: domid 0 asks for any free id. */
    struct xsim_domain *d;
    int rc = xsim_new_domain(*pdomid, XSIM_PFN_LIMIT, config->max_vcpus, &d);
    if (rc) return xsim_fail(rc, "xc_domain_create: domid %u", *pdomid);
    d->cdf_flags = config->flags;
    d->emulation_flags = config->arch_emulation_flags;
    d->misc_flags = config->arch_misc_flags;
    d->max_evtchn_port = config->max_evtchn_port;
    memcpy(d->handle, config->handle, 16);
    xsim_agent_inherit(d);
    d->pause_count = 1; /* new domains start paused, as in Xen */
    atomic_store(&d->paused, 1);
    xsim_init_hvm_state(d);
    *pdomid = d->domid;
    xsim_put(d);
    return 0;
}

XSIM_EXPORT int xc_domain_setmaxmem(void *xch, uint32_t domid, uint64_t max_memkb)
{
    ENTER("xc_domain_setmaxmem");
    d->max_pages = max_memkb / 4;
    return leave(d, 0);
}

/* The HAP/shadow pool (page tables of the p2m): recorded; the sim needs none. */
XSIM_EXPORT int xc_set_paging_mempool_size(void *xch, uint32_t domid, uint64_t size)
{
    ENTER("xc_set_paging_mempool_size");
    if (size % XSIM_PAGE)
        return leave(d, xsim_fail(EINVAL, "xc_set_paging_mempool_size: %llu is not whole pages",
                                  (unsigned long long)size));
    d->paging_mempool = size;
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_max_vcpus(void *xch, uint32_t domid, unsigned int max)
{
    ENTER("xc_domain_max_vcpus");
    if (max == 0 || max > d->max_vcpus)
        return leave(d, xsim_fail(EINVAL, "xc_domain_max_vcpus: %u not in 1..%u", max, d->max_vcpus));
    d->nr_vcpus = max;
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_populate_physmap_exact(void *xch, uint32_t domid, unsigned long nr_extents,
                                                 unsigned int extent_order, unsigned int mem_flags,
                                                 uint64_t *extent_start)
{
    (void)mem_flags;
    ENTER("xc_domain_populate_physmap_exact");
    if (extent_order > 18)
        return leave(d, xsim_fail(EINVAL, "xc_domain_populate_physmap_exact: order %u", extent_order));
    uint64_t n = 1ULL << extent_order, fresh = 0;
    for (unsigned long i = 0; i < nr_extents; i++) {
        uint64_t pfn = extent_start[i];
        if (pfn % n || pfn + n > d->pfn_space) {
            xsim_count_out_of_range(d);
            return leave(d, xsim_fail(EINVAL, "xc_domain_populate_physmap_exact: pfn %#llx beyond %#llx",
                                      (unsigned long long)pfn, (unsigned long long)d->pfn_space - 1));
        }
        for (uint64_t p = pfn; p < pfn + n; p++) fresh += !xsim_is_populated(d, p);
    }
    if (d->max_pages != UINT64_MAX && atomic_load(&d->tot_pages) + fresh > d->max_pages)
        return leave(d, xsim_fail(ENOMEM, "xc_domain_populate_physmap_exact: over max_pages %llu",
                                  (unsigned long long)d->max_pages));
    for (unsigned long i = 0; i < nr_extents; i++) xsim_populate(d, extent_start[i], n);
    return leave(d, 0);
}

XSIM_EXPORT int xc_domain_destroy(void *xch, uint32_t domid)
{
    if (xsim_check_xch(xch, "xc_domain_destroy")) return -1;
    int rc = xsim_destroy(domid);
    if (rc) return xsim_fail(rc, "xc_domain_destroy: no domain %u", domid);
    xsim_xs_fire("@releaseDomain"); /* the domain died */
    return 0;
}
