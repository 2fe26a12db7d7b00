/*
 * The guest's PV shutdown driver (Linux's drivers/xen/manage.c), simulated.
 * When enabled for a domain, a write of "suspend", "poweroff", "halt" or
 * "reboot" to /local/domain/<domid>/control/shutdown fires the guest's
 * watch.  After the domain's ack delay the guest reads the node, and if it
 * still holds a request, acknowledges by writing "" (read and ack are one
 * step, like Linux's transaction), then shuts down with the matching reason
 * (SCHEDOP_shutdown).  A request withdrawn or already acknowledged by then
 * is ignored.  Answers come from one worker thread, never from inside
 * xs_write: a real guest answers asynchronously, and the toolstack waits
 * (on its watches).
 *
 * The driver belongs to the guest's kernel, which travels in its memory:
 * a domain created by xc_domain_create with the handle (uuid) of a guest
 * that had the agent set in this process (a restored or migrated copy)
 * inherits the setting.  Across processes nothing is inherited.
 *
 * A request written while the domain is paused or shut down is ignored
 * (its vcpus cannot run the driver).  A domain paused between request and
 * answer is answered once unpaused.  Each pending request holds a domain
 * reference, so destroying the domain meanwhile is safe: the answer is
 * dropped when the domain is found dead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xsim.h"

#define AGENT_MAX_ACK_MS 600000U
#define AGENT_RETRY_NS 10000000ULL /* re-check a paused domain every 10 ms */

struct request {
    struct xsim_domain *d; /* reference held until answered or dropped */
    uint64_t due_ns;
    int reason;            /* read from the node when acknowledged */
    int acked;
    char path[64];
    struct request *next;
};

/* Agent settings by guest handle, kept after a domain is destroyed (a save
 * to a file destroys the source before the restore creates the copy). */
#define AGENT_MEMORY 64
struct remembered {
    uint8_t handle[16];
    int used, enabled;
    uint32_t ack_ms;
};
static struct remembered memory[AGENT_MEMORY];
static unsigned memory_next;

static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t agent_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reset_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t agent_cv;
static struct request *queue; /* ordered by due_ns */
static pthread_t worker;
static int worker_running, quitting;

static void init_cv(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&agent_cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void enqueue_locked(struct request *r)
{
    struct request **p = &queue;
    while (*p && (*p)->due_ns <= r->due_ns) p = &(*p)->next;
    r->next = *p;
    *p = r;
    pthread_cond_broadcast(&agent_cv);
}

static void drop(struct request *r)
{
    xsim_put(r->d);
    free(r);
}

static int parse_reason(const void *data, unsigned len)
{
    static const struct { const char *word; int reason; } words[] = {
        {"suspend", SHUTDOWN_suspend},
        {"poweroff", SHUTDOWN_poweroff},
        {"halt", SHUTDOWN_poweroff},
        {"reboot", SHUTDOWN_reboot},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (len == strlen(words[i].word) && !memcmp(data, words[i].word, len)) return words[i].reason;
    return -1;
}

/* 1: ask again later (the domain is paused); 0: done with the request. */
static int answer(struct request *r)
{
    struct xsim_domain *d = r->d;
    /* Gone, or already down (an earlier request, or the toolstack). */
    if (atomic_load(&d->dead) || atomic_load(&d->shut)) return 0;
    if (atomic_load(&d->paused)) return 1;
    if (!r->acked) {
        int reason = xsim_xs_consume(r->path, parse_reason);
        if (reason < 0) return 0; /* withdrawn, or answered by an earlier watch */
        r->reason = reason;
        r->acked = 1;
    }
    int rc = xsim_shutdown(d, r->reason, 1);
    if (rc == EAGAIN) return 1; /* paused since the check: shut down once it runs */
    if (rc == 0) atomic_fetch_add(&d->agent_answers, 1);
    return 0;
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&agent_lock);
    while (!quitting) {
        if (!queue) {
            pthread_cond_wait(&agent_cv, &agent_lock);
            continue;
        }
        uint64_t now = xsim_now_ns();
        if (queue->due_ns > now) {
            struct timespec ts = {(time_t)(queue->due_ns / 1000000000ULL),
                                  (long)(queue->due_ns % 1000000000ULL)};
            pthread_cond_timedwait(&agent_cv, &agent_lock, &ts);
            continue;
        }
        struct request *r = queue;
        queue = r->next;
        pthread_mutex_unlock(&agent_lock);
        int again = answer(r);
        pthread_mutex_lock(&agent_lock);
        if (again && !quitting) {
            r->due_ns = xsim_now_ns() + AGENT_RETRY_NS;
            enqueue_locked(r);
        } else {
            pthread_mutex_unlock(&agent_lock);
            drop(r); /* may free the domain: not under our lock */
            pthread_mutex_lock(&agent_lock);
        }
    }
    pthread_mutex_unlock(&agent_lock);
    return NULL;
}

/* "/local/domain/<domid>/control/shutdown", domid in canonical decimal. */
static int parse_path(const char *path, uint32_t *domid)
{
    static const char prefix[] = "/local/domain/", suffix[] = "/control/shutdown";
    if (strncmp(path, prefix, sizeof(prefix) - 1)) return 0;
    const char *p = path + sizeof(prefix) - 1;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) return 0;
    uint32_t id = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        id = id * 10 + (uint32_t)(*p - '0');
        if (id >= XSIM_MAX_DOMID) return 0;
    }
    if (strcmp(p, suffix)) return 0;
    *domid = id;
    return 1;
}

void xsim_agent_on_write(const char *path, const void *data, unsigned len)
{
    uint32_t domid;
    if (!parse_path(path, &domid)) return;
    if (parse_reason(data, len) < 0) return; /* the guest would read it and do nothing */
    struct xsim_domain *d = xsim_lookup(domid);
    if (!d) return;
    if (!atomic_load(&d->agent_enabled) || xsim_held(d)) {
        xsim_put(d);
        return;
    }
    struct request *r = calloc(1, sizeof(*r));
    if (!r) {
        xsim_put(d);
        return;
    }
    r->d = d;
    r->due_ns = xsim_now_ns() + (uint64_t)atomic_load(&d->agent_ack_ms) * 1000000ULL;
    snprintf(r->path, sizeof(r->path), "%s", path); /* parse_path bounded its length */
    pthread_once(&cv_once, init_cv);
    pthread_mutex_lock(&agent_lock);
    if (quitting) { /* a reset is joining the worker */
        pthread_mutex_unlock(&agent_lock);
        drop(r);
        return;
    }
    if (!worker_running) {
        if (pthread_create(&worker, NULL, worker_main, NULL) != 0) {
            pthread_mutex_unlock(&agent_lock);
            drop(r);
            return;
        }
        worker_running = 1;
    }
    enqueue_locked(r);
    pthread_mutex_unlock(&agent_lock);
}

static int nil_handle(const uint8_t *h)
{
    for (int i = 0; i < 16; i++)
        if (h[i]) return 0;
    return 1;
}

static void remember(const uint8_t *handle, int enabled, uint32_t ack_ms)
{
    if (nil_handle(handle)) return;
    pthread_mutex_lock(&agent_lock);
    struct remembered *m = NULL;
    for (unsigned i = 0; i < AGENT_MEMORY && !m; i++)
        if (memory[i].used && !memcmp(memory[i].handle, handle, 16)) m = &memory[i];
    if (!m) m = &memory[memory_next++ % AGENT_MEMORY]; /* oldest entry goes */
    memcpy(m->handle, handle, 16);
    m->used = 1;
    m->enabled = enabled;
    m->ack_ms = ack_ms;
    pthread_mutex_unlock(&agent_lock);
}

void xsim_agent_inherit(struct xsim_domain *d)
{
    if (nil_handle(d->handle)) return;
    pthread_mutex_lock(&agent_lock);
    for (unsigned i = 0; i < AGENT_MEMORY; i++) {
        if (memory[i].used && !memcmp(memory[i].handle, d->handle, 16)) {
            atomic_store(&d->agent_ack_ms, memory[i].ack_ms);
            atomic_store(&d->agent_enabled, memory[i].enabled);
            break;
        }
    }
    pthread_mutex_unlock(&agent_lock);
}

/* Stops the worker and drops pending requests (xsim_reset, library unload). */
void xsim_agent_reset(void)
{
    pthread_mutex_lock(&reset_lock);
    pthread_once(&cv_once, init_cv);
    pthread_mutex_lock(&agent_lock);
    int running = worker_running;
    quitting = 1;
    pthread_cond_broadcast(&agent_cv);
    pthread_mutex_unlock(&agent_lock);
    if (running) pthread_join(worker, NULL);
    pthread_mutex_lock(&agent_lock);
    struct request *q = queue;
    queue = NULL;
    memset(memory, 0, sizeof(memory));
    memory_next = 0;
    worker_running = 0;
    quitting = 0;
    pthread_mutex_unlock(&agent_lock);
    while (q) {
        struct request *next = q->next;
        drop(q);
        q = next;
    }
    pthread_mutex_unlock(&reset_lock);
}

/* 0, -ESRCH for an unknown domain, -EINVAL for ack_ms above 10 minutes. */
XSIM_EXPORT int32_t xsim_set_guest_agent(uint32_t domid, uint32_t enabled, uint32_t ack_ms)
{
    if (ack_ms > AGENT_MAX_ACK_MS) return -EINVAL;
    struct xsim_domain *d = xsim_lookup(domid);
    if (!d) return -ESRCH;
    atomic_store(&d->agent_ack_ms, ack_ms);
    atomic_store(&d->agent_enabled, enabled != 0);
    remember(d->handle, enabled != 0, ack_ms);
    xsim_put(d);
    return 0;
}
