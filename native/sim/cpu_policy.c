/* libxenguest's CPU policy calls, exchanging the serialised leaf/MSR arrays. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsim.h"

#define POLICY_MAGIC 0x706f6c79U

struct xsim_policy {
    uint32_t magic;
    uint32_t nr_leaves, nr_msrs;
    struct xen_cpuid_leaf leaves[XSIM_MAX_LEAVES];
    struct xen_msr_entry msrs[XSIM_MAX_MSRS];
};

XSIM_EXPORT void *xc_cpu_policy_init(void)
{
    struct xsim_policy *p = calloc(1, sizeof(*p));
    if (p) p->magic = POLICY_MAGIC;
    return p;
}

XSIM_EXPORT void xc_cpu_policy_destroy(void *policy)
{
    struct xsim_policy *p = policy;
    if (p && p->magic == POLICY_MAGIC) {
        p->magic = 0;
        free(p);
    }
}

XSIM_EXPORT int xc_cpu_policy_get_size(void *xch, uint32_t *nr_leaves, uint32_t *nr_msrs)
{
    if (xsim_check_xch(xch, "xc_cpu_policy_get_size")) return -1;
    if (nr_leaves) *nr_leaves = XSIM_MAX_LEAVES;
    if (nr_msrs) *nr_msrs = XSIM_MAX_MSRS;
    return 0;
}

XSIM_EXPORT int xc_cpu_policy_get_domain(void *xch, uint32_t domid, void *policy)
{
    if (xsim_check_xch(xch, "xc_cpu_policy_get_domain")) return -1;
    struct xsim_policy *p = policy;
    if (!p || p->magic != POLICY_MAGIC) return xsim_fail(EINVAL, "xc_cpu_policy_get_domain: bad policy");
    struct xsim_domain *d = xsim_get(domid, "xc_cpu_policy_get_domain");
    if (!d) return -1;
    pthread_mutex_lock(&d->lock);
    p->nr_leaves = d->nr_leaves;
    p->nr_msrs = d->nr_msrs;
    memcpy(p->leaves, d->leaves, sizeof(p->leaves));
    memcpy(p->msrs, d->msrs, sizeof(p->msrs));
    pthread_mutex_unlock(&d->lock);
    xsim_put(d);
    return 0;
}

XSIM_EXPORT int xc_cpu_policy_serialise(void *xch, const void *policy, struct xen_cpuid_leaf *leaves,
                                        uint32_t *nr_leaves, struct xen_msr_entry *msrs,
                                        uint32_t *nr_msrs)
{
    if (xsim_check_xch(xch, "xc_cpu_policy_serialise")) return -1;
    const struct xsim_policy *p = policy;
    if (!p || p->magic != POLICY_MAGIC) return xsim_fail(EINVAL, "xc_cpu_policy_serialise: bad policy");
    if (leaves) {
        if (*nr_leaves < p->nr_leaves)
            return xsim_fail(ENOBUFS, "xc_cpu_policy_serialise: %u < %u leaves", *nr_leaves, p->nr_leaves);
        memcpy(leaves, p->leaves, p->nr_leaves * sizeof(*leaves));
        *nr_leaves = p->nr_leaves;
    }
    if (msrs) {
        if (*nr_msrs < p->nr_msrs)
            return xsim_fail(ENOBUFS, "xc_cpu_policy_serialise: %u < %u MSRs", *nr_msrs, p->nr_msrs);
        memcpy(msrs, p->msrs, p->nr_msrs * sizeof(*msrs));
        *nr_msrs = p->nr_msrs;
    }
    return 0;
}

XSIM_EXPORT int xc_set_domain_cpu_policy(void *xch, uint32_t domid, uint32_t nr_leaves,
                                         struct xen_cpuid_leaf *leaves, uint32_t nr_msrs,
                                         struct xen_msr_entry *msrs, uint32_t *err_leaf_p,
                                         uint32_t *err_subleaf_p, uint32_t *err_msr_p)
{
    if (xsim_check_xch(xch, "xc_set_domain_cpu_policy")) return -1;
    struct xsim_domain *d = xsim_get(domid, "xc_set_domain_cpu_policy");
    if (!d) return -1;
    uint32_t none = ~0U;
    if (err_leaf_p) *err_leaf_p = none;
    if (err_subleaf_p) *err_subleaf_p = none;
    if (err_msr_p) *err_msr_p = none;
    int rc = 0;
    if (nr_leaves > XSIM_MAX_LEAVES) {
        rc = xsim_fail(E2BIG, "xc_set_domain_cpu_policy: %u leaves > %d", nr_leaves, XSIM_MAX_LEAVES);
    } else if (nr_msrs > XSIM_MAX_MSRS) {
        rc = xsim_fail(E2BIG, "xc_set_domain_cpu_policy: %u MSRs > %d", nr_msrs, XSIM_MAX_MSRS);
    } else {
        for (uint32_t i = 0; i < nr_msrs && !rc; i++) {
            if (msrs[i].flags) { /* reserved, must be zero */
                if (err_msr_p) *err_msr_p = msrs[i].idx;
                rc = xsim_fail(EINVAL, "xc_set_domain_cpu_policy: MSR %#x has flags set", msrs[i].idx);
            }
        }
    }
    if (!rc) {
        pthread_mutex_lock(&d->lock);
        d->nr_leaves = nr_leaves;
        d->nr_msrs = nr_msrs;
        if (nr_leaves) memcpy(d->leaves, leaves, nr_leaves * sizeof(*leaves));
        if (nr_msrs) memcpy(d->msrs, msrs, nr_msrs * sizeof(*msrs));
        pthread_mutex_unlock(&d->lock);
    }
    xsim_put(d);
    return rc;
}
