/*
 * libxenstore (xenstore.h, Xen 4.17) over a process-wide in-memory tree, so
 * a toolstack can write a guest's nodes and the simulated guest agent can
 * answer control/shutdown.  One mutex guards everything; every call is a
 * short tree walk.
 *
 * Semantics kept from xenstored: writes and mkdir create missing parents
 * with empty values, new nodes inherit their parent's permissions, paths
 * are absolute with xenstored's character set, errors are false/NULL plus
 * errno.  Watches as libxenstore delivers them: an event on registration,
 * then one for every change at or below the watched path (a special path
 * like @releaseDomain fires as itself), queued per handle, with a byte per
 * event on the pipe xs_fileno returns.  Simplified: transactions have no
 * isolation (operations apply at once and fire at once; ending, even with
 * abort, only closes the id), and xs_directory lists children in insertion
 * order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "xsim.h"

#define XS_ABS_PATH_MAX 3072 /* XENSTORE_ABS_PATH_MAX */
#define XS_HANDLE_MAGIC 0x78736864U /* "xshd" */

typedef uint32_t xs_transaction_t;

struct xs_permissions {
    unsigned int id;
    unsigned int perms;
};

struct watch {
    char *path, *token;
};

struct xs_handle {
    uint32_t magic;
    struct watch *watches; /* registered */
    size_t nwatches, capwatches;
    struct watch *events; /* fired, oldest first: (path that changed, token) */
    size_t nevents, capevents;
    int pipe[2]; /* -1 until xs_fileno; a byte per queued event */
};

struct node {
    char *name;
    uint8_t *value;
    unsigned len;
    struct xs_permissions *perms;
    unsigned nperms;
    struct node *parent;
    struct node **kids;
    unsigned nkids, capkids;
};

struct introduced {
    int on;
    uint64_t mfn;
    uint32_t port;
};

static pthread_mutex_t xs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *root;
static int64_t nnodes;
static struct xs_handle **handles;
static size_t nhandles, caphandles;
static uint32_t *txns; /* open transaction ids */
static size_t ntxns, captxns;
static uint32_t next_txn = 1;
static struct introduced intro[XSIM_MAX_DOMID];

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need) n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p) return ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

/* ---- nodes (xs_lock held) ------------------------------------------------ */

static void free_node(struct node *n)
{
    for (unsigned i = 0; i < n->nkids; i++) free_node(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->value);
    free(n->perms);
    free(n);
    nnodes--;
}

static struct node *new_node(struct node *parent, const char *name, size_t namelen)
{
    struct node *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->name = strndup(name, namelen);
    /* xenstored: a new node inherits its parent's permissions. */
    unsigned np = parent ? parent->nperms : 1;
    n->perms = malloc(np * sizeof(*n->perms));
    if (!n->name || !n->perms) {
        free(n->name);
        free(n->perms);
        free(n);
        return NULL;
    }
    if (parent) memcpy(n->perms, parent->perms, np * sizeof(*n->perms));
    else n->perms[0] = (struct xs_permissions){0, 0}; /* dom0 owns, others none */
    n->nperms = np;
    n->parent = parent;
    nnodes++;
    if (parent) {
        size_t cap = parent->capkids;
        if (grow((void **)&parent->kids, &cap, parent->nkids + 1, sizeof(*parent->kids))) {
            free_node(n);
            return NULL;
        }
        parent->capkids = (unsigned)cap;
        parent->kids[parent->nkids++] = n;
    }
    return n;
}

static struct node *the_root(void)
{
    if (!root) root = new_node(NULL, "", 0);
    return root;
}

static struct node *child(struct node *n, const char *name, size_t len)
{
    for (unsigned i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->name) == len && !memcmp(n->kids[i]->name, name, len)) return n->kids[i];
    return NULL;
}

/* Walks path (already validated); create makes missing nodes.  NULL + errno. */
static struct node *walk(const char *path, int create)
{
    struct node *n = the_root();
    if (!n) {
        errno = ENOMEM;
        return NULL;
    }
    const char *p = path + 1;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        struct node *c = child(n, p, len);
        if (!c && create) c = new_node(n, p, len);
        if (!c) {
            errno = create ? ENOMEM : ENOENT;
            return NULL;
        }
        n = c;
        p += len + (slash ? 1 : 0);
    }
    return n;
}

static void unlink_node(struct node *n)
{
    struct node *p = n->parent;
    for (unsigned i = 0; i < p->nkids; i++) {
        if (p->kids[i] == n) {
            memmove(&p->kids[i], &p->kids[i + 1], (p->nkids - i - 1) * sizeof(*p->kids));
            p->nkids--;
            break;
        }
    }
    free_node(n);
}

/* ---- watches (xs_lock held) ---------------------------------------------- */

/* A (path, token) pair of copies; ENOMEM leaves nothing allocated. */
static int make_watch(struct watch *w, const char *path, const char *token)
{
    w->path = strdup(path);
    w->token = strdup(token);
    if (w->path && w->token) return 0;
    free(w->path);
    free(w->token);
    return ENOMEM;
}

static void free_watch(struct watch *w)
{
    free(w->path);
    free(w->token);
}

static void queue_event(struct xs_handle *h, const char *path, const char *token)
{
    if (grow((void **)&h->events, &h->capevents, h->nevents + 1, sizeof(*h->events))) return;
    /* Out of memory: as a full xenstored queue, the event is lost, not the store. */
    if (make_watch(&h->events[h->nevents], path, token)) return;
    h->nevents++;
    if (h->pipe[1] >= 0) {
        char b = 0;
        (void)!write(h->pipe[1], &b, 1);
    }
}

/* Removes queued event i, and its byte from the pipe. */
static void drop_event(struct xs_handle *h, size_t i)
{
    free_watch(&h->events[i]);
    memmove(&h->events[i], &h->events[i + 1], (h->nevents - i - 1) * sizeof(*h->events));
    h->nevents--;
    char b;
    if (h->pipe[0] >= 0) (void)!read(h->pipe[0], &b, 1);
}

/* Whether a change at `changed` fires a watch on `watched` (at or below it). */
static int fires(const char *watched, const char *changed)
{
    if (watched[0] == '@' || changed[0] == '@') return !strcmp(watched, changed);
    size_t n = strlen(watched);
    if (n == 1) return 1; /* a watch on / sees everything */
    return !strncmp(watched, changed, n) && (changed[n] == 0 || changed[n] == '/');
}

/* A change at `path`; `subtree`: also watches below it (a removal). */
static void fire_locked(const char *path, int subtree)
{
    for (size_t i = 0; i < nhandles; i++) {
        struct xs_handle *h = handles[i];
        for (size_t j = 0; j < h->nwatches; j++) {
            struct watch *w = &h->watches[j];
            if (fires(w->path, path) || (subtree && fires(path, w->path)))
                queue_event(h, path, w->token);
        }
    }
}

void xsim_xs_fire(const char *path)
{
    pthread_mutex_lock(&xs_lock);
    fire_locked(path, 0);
    pthread_mutex_unlock(&xs_lock);
}

/* ---- argument checks ----------------------------------------------------- */

/* xenstored's rules for an absolute path. */
static int valid_path(const char *path)
{
    if (!path || path[0] != '/') return 0;
    size_t len = strlen(path);
    if (len > XS_ABS_PATH_MAX) return 0;
    if (len > 1 && path[len - 1] == '/') return 0;
    if (strstr(path, "//")) return 0;
    return strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@") == len;
}

static int valid_handle_locked(struct xs_handle *h)
{
    for (size_t i = 0; i < nhandles; i++)
        if (handles[i] == h) return 1;
    return 0;
}

static int txn_index_locked(xs_transaction_t t)
{
    for (size_t i = 0; i < ntxns; i++)
        if (txns[i] == t) return (int)i;
    return -1;
}

/* Locks xs_lock and checks handle, transaction and path; 0 or errno (unlocked). */
static int enter(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    pthread_mutex_lock(&xs_lock);
    int err = 0;
    if (!valid_handle_locked(h)) err = EBADF;
    else if (t != 0 && txn_index_locked(t) < 0) err = ENOENT; /* xenstored: unknown transaction */
    else if (path && !valid_path(path)) err = EINVAL;
    if (err) pthread_mutex_unlock(&xs_lock);
    return err;
}

static bool fail(int err)
{
    errno = err;
    return false;
}

static bool done(int err)
{
    pthread_mutex_unlock(&xs_lock);
    if (err) errno = err;
    return err == 0;
}

/* ---- handles ------------------------------------------------------------- */

XSIM_EXPORT struct xs_handle *xs_open(unsigned long flags)
{
    (void)flags; /* XS_OPEN_READONLY / SOCKETONLY are ignored by 4.17 too */
    struct xs_handle *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    h->magic = XS_HANDLE_MAGIC;
    h->pipe[0] = h->pipe[1] = -1;
    pthread_mutex_lock(&xs_lock);
    if (grow((void **)&handles, &caphandles, nhandles + 1, sizeof(*handles))) {
        pthread_mutex_unlock(&xs_lock);
        free(h);
        errno = ENOMEM;
        return NULL;
    }
    handles[nhandles++] = h;
    pthread_mutex_unlock(&xs_lock);
    return h;
}

XSIM_EXPORT void xs_close(struct xs_handle *h)
{
    if (!h) return;
    pthread_mutex_lock(&xs_lock);
    for (size_t i = 0; i < nhandles; i++) {
        if (handles[i] == h) {
            handles[i] = handles[--nhandles];
            h->magic = 0;
            for (size_t j = 0; j < h->nwatches; j++) free_watch(&h->watches[j]);
            for (size_t j = 0; j < h->nevents; j++) free_watch(&h->events[j]);
            free(h->watches);
            free(h->events);
            if (h->pipe[0] >= 0) close(h->pipe[0]), close(h->pipe[1]);
            free(h);
            break;
        }
    }
    pthread_mutex_unlock(&xs_lock);
}

/* ---- nodes --------------------------------------------------------------- */

XSIM_EXPORT void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
    int err = enter(h, t, path);
    if (err) {
        errno = err;
        return NULL;
    }
    struct node *n = walk(path, 0);
    char *out = NULL;
    if (!n) {
        err = errno;
    } else if (!(out = malloc(n->len + 1))) {
        err = ENOMEM;
    } else {
        if (n->len) memcpy(out, n->value, n->len);
        out[n->len] = 0;
        if (len) *len = n->len;
    }
    done(err);
    return out;
}

static int write_locked(const char *path, const void *data, unsigned len)
{
    struct node *n = walk(path, 1);
    if (!n) return errno;
    uint8_t *v = malloc(len ? len : 1);
    if (!v) return ENOMEM;
    if (len) memcpy(v, data, len);
    free(n->value);
    n->value = v;
    n->len = len;
    fire_locked(path, 0);
    return 0;
}

XSIM_EXPORT bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
                          unsigned int len)
{
    if (!data && len) return fail(EINVAL);
    int err = enter(h, t, path);
    if (err) return fail(err);
    if (!done(write_locked(path, data, len))) return false;
    /* Outside the lock: the agent reads domain state and may write back. */
    xsim_agent_on_write(path, data, len);
    return true;
}

int xsim_xs_consume(const char *path, int (*parse)(const void *data, unsigned len))
{
    if (!valid_path(path)) return -1;
    pthread_mutex_lock(&xs_lock);
    struct node *n = walk(path, 0);
    int r = n ? parse(n->value, n->len) : -1;
    if (r >= 0) {
        n->len = 0; /* the value buffer stays allocated; "" needs no bytes */
        fire_locked(path, 0);
    }
    pthread_mutex_unlock(&xs_lock);
    return r;
}

XSIM_EXPORT bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    int err = enter(h, t, path);
    if (err) return fail(err);
    if (!walk(path, 1)) return done(errno);
    fire_locked(path, 0);
    return done(0);
}

XSIM_EXPORT bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    int err = enter(h, t, path);
    if (err) return fail(err);
    if (!strcmp(path, "/")) return done(EINVAL); /* xenstored refuses to remove the root */
    struct node *n = walk(path, 0);
    if (!n) return done(ENOENT);
    unlink_node(n);
    fire_locked(path, 1);
    return done(0);
}

XSIM_EXPORT char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
                                unsigned int *num)
{
    int err = enter(h, t, path);
    if (err) {
        errno = err;
        return NULL;
    }
    struct node *n = walk(path, 0);
    if (!n) {
        done(ENOENT);
        return NULL;
    }
    /* One block, pointers then strings, so one free() releases it (as libxenstore). */
    size_t bytes = n->nkids * sizeof(char *);
    for (unsigned i = 0; i < n->nkids; i++) bytes += strlen(n->kids[i]->name) + 1;
    char **out = malloc(bytes ? bytes : 1);
    if (!out) {
        done(ENOMEM);
        return NULL;
    }
    char *s = (char *)(out + n->nkids);
    for (unsigned i = 0; i < n->nkids; i++) {
        size_t l = strlen(n->kids[i]->name) + 1;
        memcpy(s, n->kids[i]->name, l);
        out[i] = s;
        s += l;
    }
    if (num) *num = n->nkids;
    done(0);
    return out;
}

XSIM_EXPORT bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                                    struct xs_permissions *perms, unsigned int num_perms)
{
    if (num_perms == 0 || !perms) return fail(EINVAL);
    int err = enter(h, t, path);
    if (err) return fail(err);
    struct node *n = walk(path, 0);
    if (!n) return done(ENOENT);
    struct xs_permissions *p = malloc(num_perms * sizeof(*p));
    if (!p) return done(ENOMEM);
    memcpy(p, perms, num_perms * sizeof(*p));
    free(n->perms);
    n->perms = p;
    n->nperms = num_perms;
    fire_locked(path, 0);
    return done(0);
}

/* ---- watches --------------------------------------------------------------- */

static int valid_watch_path(const char *path)
{
    if (path && path[0] == '@') return strlen(path) < 64 && strspn(path + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(path) - 1;
    return valid_path(path);
}

XSIM_EXPORT bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
    if (!valid_watch_path(path) || !token) return fail(EINVAL);
    int err = enter(h, 0, NULL);
    if (err) return fail(err);
    if (grow((void **)&h->watches, &h->capwatches, h->nwatches + 1, sizeof(*h->watches)))
        return done(ENOMEM);
    if (make_watch(&h->watches[h->nwatches], path, token)) return done(ENOMEM);
    h->nwatches++;
    queue_event(h, path, token); /* xenstored fires a new watch once at once */
    return done(0);
}

XSIM_EXPORT bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
    if (!path || !token) return fail(EINVAL);
    int err = enter(h, 0, NULL);
    if (err) return fail(err);
    size_t i = 0;
    while (i < h->nwatches && (strcmp(h->watches[i].path, path) || strcmp(h->watches[i].token, token))) i++;
    if (i == h->nwatches) return done(ENOENT);
    free_watch(&h->watches[i]);
    h->watches[i] = h->watches[--h->nwatches];
    /* As libxenstore: queued events of a token no longer watched are dropped. */
    int still = 0;
    for (size_t j = 0; j < h->nwatches; j++) still |= !strcmp(h->watches[j].token, token);
    for (size_t j = 0; !still && j < h->nevents;) {
        if (strcmp(h->events[j].token, token)) j++;
        else drop_event(h, j);
    }
    return done(0);
}

XSIM_EXPORT int xs_fileno(struct xs_handle *h)
{
    int err = enter(h, 0, NULL);
    if (err) {
        errno = err;
        return -1;
    }
    if (h->pipe[0] < 0) {
        if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK)) {
            done(errno);
            return -1;
        }
        for (size_t i = 0; i < h->nevents; i++) {
            char b = 0;
            (void)!write(h->pipe[1], &b, 1);
        }
    }
    int fd = h->pipe[0];
    done(0);
    return fd;
}

/* One queued event as libxenstore returns it: vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN] in one block. */
XSIM_EXPORT char **xs_check_watch(struct xs_handle *h)
{
    int err = enter(h, 0, NULL);
    if (err) {
        errno = err;
        return NULL;
    }
    if (h->nevents == 0) {
        done(EAGAIN);
        return NULL;
    }
    const struct watch *e = &h->events[0];
    size_t lp = strlen(e->path) + 1, lt = strlen(e->token) + 1;
    char **vec = malloc(2 * sizeof(char *) + lp + lt);
    if (!vec) {
        done(ENOMEM);
        return NULL;
    }
    vec[0] = (char *)(vec + 2);
    vec[1] = vec[0] + lp;
    memcpy(vec[0], e->path, lp);
    memcpy(vec[1], e->token, lt);
    drop_event(h, 0);
    done(0);
    return vec;
}

/* ---- transactions -------------------------------------------------------- */

XSIM_EXPORT xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
    int err = enter(h, 0, NULL);
    if (err) {
        errno = err;
        return 0;
    }
    if (grow((void **)&txns, &captxns, ntxns + 1, sizeof(*txns))) {
        done(ENOMEM);
        return 0;
    }
    uint32_t id = next_txn++;
    if (next_txn == 0) next_txn = 1; /* 0 is XBT_NULL */
    txns[ntxns++] = id;
    done(0);
    return id;
}

XSIM_EXPORT bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
    (void)abort; /* no isolation: there is nothing to commit or drop */
    if (t == 0) return fail(EINVAL);
    int err = enter(h, t, NULL);
    if (err) return fail(err);
    int i = txn_index_locked(t);
    txns[i] = txns[--ntxns];
    return done(0);
}

/* ---- domains ------------------------------------------------------------- */

XSIM_EXPORT bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
                                     unsigned int eventchn)
{
    if (domid == 0) return true; /* dom0 is introduced when xenstored starts */
    struct xsim_domain *d = xsim_lookup(domid);
    if (!d) return fail(EINVAL); /* xenstored cannot map a missing domain's ring */
    xsim_put(d);
    int err = enter(h, 0, NULL);
    if (err) return fail(err);
    intro[domid] = (struct introduced){1, mfn, eventchn};
    return done(0);
}

XSIM_EXPORT bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
    int err = enter(h, 0, NULL);
    if (err) return fail(err);
    if (domid == 0 || domid >= XSIM_MAX_DOMID || !intro[domid].on) return done(ENOENT);
    intro[domid].on = 0;
    return done(0);
}

XSIM_EXPORT bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
    int err = enter(h, 0, NULL);
    if (err) return fail(err);
    pthread_mutex_unlock(&xs_lock);
    if (domid == 0) return true;
    struct xsim_domain *d = xsim_lookup(domid);
    if (!d) return fail(ENOENT);
    xsim_put(d);
    return true;
}

XSIM_EXPORT char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
    int err = enter(h, 0, NULL);
    if (err) {
        errno = err;
        return NULL;
    }
    pthread_mutex_unlock(&xs_lock);
    char *out = NULL;
    if (asprintf(&out, "/local/domain/%u", domid) < 0) {
        errno = ENOMEM;
        return NULL;
    }
    return out;
}

XSIM_EXPORT bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
    int err = enter(h, 0, NULL);
    if (err) return fail(err);
    bool on = domid == 0 || (domid < XSIM_MAX_DOMID && intro[domid].on);
    pthread_mutex_unlock(&xs_lock);
    return on;
}

int xsim_xs_introduced(uint32_t domid, uint64_t *mfn, uint32_t *port)
{
    if (domid >= XSIM_MAX_DOMID) return 0;
    pthread_mutex_lock(&xs_lock);
    struct introduced i = intro[domid];
    pthread_mutex_unlock(&xs_lock);
    if (mfn) *mfn = i.on ? i.mfn : 0;
    if (port) *port = i.on ? i.port : 0;
    return i.on;
}

void xsim_xs_domain_gone(uint32_t domid)
{
    if (domid >= XSIM_MAX_DOMID) return;
    pthread_mutex_lock(&xs_lock);
    intro[domid].on = 0;
    pthread_mutex_unlock(&xs_lock);
}

/* ---- simulator state ----------------------------------------------------- */

/* Clears nodes, transactions and introductions; open handles stay valid. */
void xsim_xs_reset(void)
{
    pthread_mutex_lock(&xs_lock);
    if (root) free_node(root);
    root = NULL;
    ntxns = 0;
    memset(intro, 0, sizeof(intro));
    pthread_mutex_unlock(&xs_lock);
}

int64_t xsim_xs_handles_live(void)
{
    pthread_mutex_lock(&xs_lock);
    int64_t n = (int64_t)nhandles;
    pthread_mutex_unlock(&xs_lock);
    return n;
}

int64_t xsim_xs_transactions_live(void)
{
    pthread_mutex_lock(&xs_lock);
    int64_t n = (int64_t)ntxns;
    pthread_mutex_unlock(&xs_lock);
    return n;
}

int64_t xsim_xs_nodes(void)
{
    pthread_mutex_lock(&xs_lock);
    int64_t n = nnodes - (root ? 1 : 0); /* "/" itself is not counted */
    pthread_mutex_unlock(&xs_lock);
    return n;
}
