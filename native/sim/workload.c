/*
 * Guest workload: one writer thread per vcpu (capped) dirtying RAM pages at
 * a configured rate and pattern while the domain runs.  Pause is Xen's
 * controller pause: counted, and it returns only once every writer is
 * parked between writes, so a paused domain's memory is truly still.
 * A shut-down domain's writers park the same way (shutdown.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xsim.h"

struct writer {
    struct xsim_domain *d;
    uint64_t rng;
    unsigned index;
};

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: fast, and per-thread so writers never contend on it. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t index_to_pfn(struct xsim_domain *d, uint64_t idx)
{
    size_t lo = 0, hi = d->nranges;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (d->ranges[mid].first_index <= idx) lo = mid;
        else hi = mid;
    }
    return d->ranges[lo].first_pfn + (idx - d->ranges[lo].first_index);
}

static uint64_t pick_index(struct xsim_domain *d, const struct xsim_workload *wl, uint64_t *rng)
{
    uint64_t n = d->nram;
    switch (wl->pattern) {
    case XSIM_SCAN:
        return atomic_fetch_add(&d->scan_cursor, 1) % n;
    case XSIM_HOT: {
        uint64_t hot = (uint64_t)(wl->hot_fraction * (double)n);
        if (hot == 0) hot = 1;
        if (next_rand(rng) % 10 < 9) {
            /* Scatter the hot set over RAM with a multiplicative hash. */
            uint64_t k = next_rand(rng) % hot;
            return (k * 0x9E3779B97F4A7C15ULL) % n;
        }
        return next_rand(rng) % n;
    }
    default:
        return next_rand(rng) % n;
    }
}

static void wait_ns(struct xsim_domain *d, uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(t / 1000000000ULL);
    ts.tv_nsec = (long)(t % 1000000000ULL);
    pthread_cond_timedwait(&d->cv, &d->lock, &ts);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct xsim_domain *d = w->d;
    uint64_t t0 = xsim_now_ns(), done = 0;

    pthread_mutex_lock(&d->lock);
    for (;;) {
        if (atomic_load(&d->stop)) break;
        if (xsim_held(d)) {
            d->parked++;
            pthread_cond_broadcast(&d->cv_parked);
            while (xsim_held(d) && !atomic_load(&d->stop)) pthread_cond_wait(&d->cv, &d->lock);
            d->parked--;
            t0 = xsim_now_ns(); /* no catch-up burst after a pause */
            done = 0;
            continue;
        }
        struct xsim_workload wl = d->wl;
        double rate = wl.rate / d->nwriters;
        if (rate <= 0 || d->nram == 0) {
            wait_ns(d, 100000000ULL);
            t0 = xsim_now_ns();
            done = 0;
            continue;
        }
        uint64_t now = xsim_now_ns();
        if (wl.pattern == XSIM_BURSTY) {
            uint64_t period = (uint64_t)(wl.on_ms + wl.off_ms) * 1000000ULL;
            uint64_t phase = (now - d->epoch_ns) % period;
            if (phase >= (uint64_t)wl.on_ms * 1000000ULL) {
                wait_ns(d, period - phase);
                t0 = xsim_now_ns();
                done = 0;
                continue;
            }
        }
        uint64_t due = (uint64_t)((double)(now - t0) * rate / 1e9);
        if (due <= done) {
            uint64_t next = (uint64_t)((double)(done + 1) * 1e9 / rate);
            uint64_t ns = next > now - t0 ? next - (now - t0) : 0;
            wait_ns(d, ns < 1000000ULL ? 1000000ULL : ns > 50000000ULL ? 50000000ULL : ns);
            continue;
        }
        uint64_t batch = due - done, cap = (uint64_t)(rate / 100) + 1;
        if (batch > cap * 10) done = due - cap; /* fell behind: drop the backlog */
        if (batch > cap) batch = cap;
        pthread_mutex_unlock(&d->lock);
        for (uint64_t i = 0; i < batch; i++) {
            if (xsim_held(d) || atomic_load(&d->stop)) break;
            xsim_write_page(d, index_to_pfn(d, pick_index(d, &wl, &w->rng)));
            done++;
        }
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    free(w);
    return NULL;
}

/* RAM index -> pfn ranges from the populated bitmap (holes skipped). */
static int build_ranges(struct xsim_domain *d)
{
    free(d->ranges);
    d->ranges = NULL;
    d->nranges = 0;
    d->nram = 0;
    size_t cap = 0;
    uint64_t max = atomic_load(&d->max_gpfn);
    for (uint64_t p = 0; p <= max && p < d->pfn_space; p++) {
        if (!xsim_is_populated(d, p)) continue;
        /* Special pages belong to the toolstack, not the guest's workload. */
        if (d->spec_created && p >= XSIM_SPECIAL_PFN && p < XSIM_SPECIAL_PFN + XSIM_SPECIAL_PAGES)
            continue;
        if (d->nranges && d->ranges[d->nranges - 1].first_pfn + d->ranges[d->nranges - 1].count == p) {
            d->ranges[d->nranges - 1].count++;
        } else {
            if (d->nranges == cap) {
                cap = cap ? cap * 2 : 8;
                struct xsim_range *r = realloc(d->ranges, cap * sizeof(*r));
                if (!r) return ENOMEM;
                d->ranges = r;
            }
            d->ranges[d->nranges++] = (struct xsim_range){p, 1, d->nram};
        }
        d->nram++;
    }
    return 0;
}

void xsim_stop_writers(struct xsim_domain *d)
{
    pthread_mutex_lock(&d->lock);
    int n = d->nwriters;
    atomic_store(&d->stop, 1);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < n; i++) pthread_join(d->writers[i], NULL);
    pthread_mutex_lock(&d->lock);
    d->nwriters = 0;
    d->parked = 0;
    atomic_store(&d->stop, 0);
    pthread_mutex_unlock(&d->lock);
}

/* Caller holds d->ctl.  Restarts the writers so they see fresh ranges. */
int xsim_set_workload_locked(struct xsim_domain *d, const struct xsim_workload *wl)
{
    xsim_stop_writers(d);
    pthread_mutex_lock(&d->lock);
    d->wl = *wl;
    d->epoch_ns = xsim_now_ns();
    int rc = build_ranges(d);
    if (rc || wl->rate <= 0 || d->nram == 0) {
        pthread_mutex_unlock(&d->lock);
        return rc;
    }
    unsigned n = d->nr_vcpus < XSIM_MAX_WRITERS ? d->nr_vcpus : XSIM_MAX_WRITERS;
    for (unsigned i = 0; i < n; i++) {
        struct writer *w = calloc(1, sizeof(*w));
        if (!w) break;
        w->d = d;
        w->index = i;
        w->rng = 0x853c49e6748fea9bULL ^ ((uint64_t)d->domid << 32) ^ (i + 1) * 0x9E3779B97F4A7C15ULL;
        if (pthread_create(&d->writers[d->nwriters], NULL, writer_main, w) != 0) {
            free(w);
            break;
        }
        d->nwriters++;
    }
    pthread_mutex_unlock(&d->lock);
    return d->nwriters ? 0 : EAGAIN;
}

int xsim_pause(struct xsim_domain *d)
{
    pthread_mutex_lock(&d->ctl);
    pthread_mutex_lock(&d->lock);
    if (d->pause_count >= 255) { /* Xen's limit on controller pauses */
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_unlock(&d->ctl);
        return EOVERFLOW;
    }
    if (d->pause_count++ == 0) {
        atomic_store(&d->paused, 1);
        pthread_cond_broadcast(&d->cv);
        /* Like domain_pause(): return only once no vcpu is mid-write. */
        while (d->parked < d->nwriters) pthread_cond_wait(&d->cv_parked, &d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_unlock(&d->ctl);
    return 0;
}

int xsim_unpause(struct xsim_domain *d)
{
    pthread_mutex_lock(&d->ctl);
    pthread_mutex_lock(&d->lock);
    int rc = 0;
    if (d->pause_count == 0) {
        rc = EINVAL; /* Xen: unpausing a domain the controller didn't pause */
    } else if (--d->pause_count == 0) {
        atomic_store(&d->paused, 0);
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_unlock(&d->ctl);
    return rc;
}
