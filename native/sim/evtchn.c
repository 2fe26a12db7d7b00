/*
 * Event channels, as far as a toolstack allocates them: unbound ports for
 * the xenstore and console rings.  Nothing is delivered; only the number of
 * ports handed out per domain is kept.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "xsim.h"

XSIM_EXPORT int xc_evtchn_alloc_unbound(void *xch, uint32_t dom, uint32_t remote_dom)
{
    if (xsim_check_xch(xch, "xc_evtchn_alloc_unbound")) return -1;
    struct xsim_domain *d = xsim_get(dom, "xc_evtchn_alloc_unbound");
    if (!d) return -1;
    /* dom0 is not in the simulator's table but always exists. */
    if (remote_dom != 0 && remote_dom != DOMID_SELF && remote_dom != dom) {
        struct xsim_domain *r = xsim_get(remote_dom, "xc_evtchn_alloc_unbound: remote");
        if (!r) {
            xsim_put(d);
            return -1;
        }
        xsim_put(r);
    }
    pthread_mutex_lock(&d->lock);
    uint32_t max = d->max_evtchn_port ? d->max_evtchn_port : XSIM_EVTCHN_CAP;
    int port = -1;
    /* Port 0 is reserved; ports 1..max_evtchn_port are allocatable, as in Xen. */
    if (d->evtchn_ports < max) port = (int)++d->evtchn_ports;
    pthread_mutex_unlock(&d->lock);
    if (port < 0)
        xsim_fail(ENOSPC, "xc_evtchn_alloc_unbound: domain %u has no port above %u", dom, max);
    xsim_put(d);
    return port;
}
