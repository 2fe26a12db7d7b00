/*
 * xc_dom_gnttab_seed: the toolstack pre-grants the console and xenstore
 * rings to their backends.  The simulator has no grant table; it records
 * what was seeded.  Xen writes the frame numbers into grant entries without
 * checking them (libxc's restore seeds before every page may have arrived),
 * so only a gfn outside the guest's physical address space is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>

#include "xsim.h"

XSIM_EXPORT int xc_dom_gnttab_seed(void *xch, uint32_t guest_domid, bool is_hvm, uint64_t console_gfn,
                                   uint64_t xenstore_gfn, uint32_t console_domid,
                                   uint32_t xenstore_domid)
{
    (void)is_hvm;
    if (xsim_check_xch(xch, "xc_dom_gnttab_seed")) return -1;
    struct xsim_domain *d = xsim_get(guest_domid, "xc_dom_gnttab_seed");
    if (!d) return -1;
    const uint64_t gfns[2] = {console_gfn, xenstore_gfn};
    for (int i = 0; i < 2; i++) {
        if (gfns[i] >= d->pfn_space) {
            xsim_count_out_of_range(d);
            xsim_fail(EINVAL, "xc_dom_gnttab_seed: %s gfn %#llx of domain %u beyond %#llx",
                      i ? "xenstore" : "console", (unsigned long long)gfns[i], guest_domid,
                      (unsigned long long)d->pfn_space - 1);
            xsim_put(d);
            return -1;
        }
    }
    pthread_mutex_lock(&d->lock);
    d->gnttab_seeded = 1;
    d->console_gfn = console_gfn;
    d->xenstore_gfn = xenstore_gfn;
    d->console_domid = console_domid;
    d->xenstore_domid = xenstore_domid;
    pthread_mutex_unlock(&d->lock);
    xsim_put(d);
    return 0;
}
