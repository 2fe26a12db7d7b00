/*
 * Domain shutdown (the guest's SCHEDOP_shutdown) and xc_domain_resume.
 * A shut-down domain keeps its memory but its vcpus stop: the writers park
 * exactly as for a pause, so a save's snapshot of a suspended guest is
 * stable.  Shutdown and the controller's pause count are independent, as in
 * Xen: unpausing a shut-down domain does not make it run.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "xsim.h"

int xsim_shutdown(struct xsim_domain *d, int reason, int only_if_running)
{
    int rc = 0;
    pthread_mutex_lock(&d->ctl);
    pthread_mutex_lock(&d->lock);
    if (atomic_load(&d->shut)) {
        rc = EALREADY; /* Xen ignores a second shutdown; the first reason stays */
    } else if (only_if_running && atomic_load(&d->paused)) {
        rc = EAGAIN;
    } else {
        atomic_store(&d->shutdown_reason, reason); /* before shut: readers see a whole state */
        atomic_store(&d->stopping, 1);
        pthread_cond_broadcast(&d->cv);
        /* Shut down (and reported so) only once no writer is mid-write: Xen
         * sets is_shut_down only when every vcpu has stopped, so a toolstack
         * that sees the shutdown never races a write in flight. */
        while (d->parked < d->nwriters) pthread_cond_wait(&d->cv_parked, &d->lock);
        atomic_store(&d->shut, 1);
        atomic_store(&d->stopping, 0);
    }
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_unlock(&d->ctl);
    /* xenstored sees VIRQ_DOM_EXC and fires @releaseDomain for a shutdown. */
    if (rc == 0) xsim_xs_fire("@releaseDomain");
    return rc;
}

/*
 * Xen 4.17 resumes a suspended HVM guest with XEN_DOMCTL_resumedomain; with
 * fast (cooperative) it first makes the guest's suspend hypercall return 1,
 * telling the guest its devices are still connected.  The simulator records
 * fast instead of editing the vcpu context.
 */
XSIM_EXPORT int xc_domain_resume(void *xch, uint32_t domid, int fast)
{
    if (xsim_check_xch(xch, "xc_domain_resume")) return -1;
    struct xsim_domain *d = xsim_get(domid, "xc_domain_resume");
    if (!d) return -1;
    int rc = 0;
    pthread_mutex_lock(&d->ctl);
    pthread_mutex_lock(&d->lock);
    if (atomic_load(&d->shut)) {
        int reason = atomic_load(&d->shutdown_reason);
        if (reason != SHUTDOWN_suspend) {
            /* A powered-off or crashed guest has nothing to resume into. */
            rc = xsim_fail(EINVAL, "xc_domain_resume: domain %u shut down with reason %d, not suspend",
                           domid, reason);
        } else {
            atomic_store(&d->shut, 0);
            d->resumes++;
            d->resumed_fast = fast ? 1 : 0;
            /* Writers run again unless the controller still holds a pause. */
            pthread_cond_broadcast(&d->cv);
        }
    }
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_unlock(&d->ctl);
    xsim_put(d);
    return rc;
}

/* Simulator control: shut a domain down as its guest would (e.g. a crash).
 * 0, -ESRCH, -EINVAL (reason > SHUTDOWN_watchdog), -EALREADY. */
XSIM_EXPORT int32_t xsim_shutdown_domain(uint32_t domid, uint32_t reason)
{
    if (reason > SHUTDOWN_watchdog) return -EINVAL;
    struct xsim_domain *d = xsim_lookup(domid);
    if (!d) return -ESRCH;
    int rc = xsim_shutdown(d, (int)reason, 0);
    xsim_put(d);
    return -rc;
}
