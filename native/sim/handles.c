/* xc_interface handles: validated so a stale handle is an error, not a crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "xsim.h"

#define XSIM_XCH_MAGIC 0x7873696dU /* "xsim" */

struct xsim_xch {
    uint32_t magic;
};

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xsim_xch *handles[256];

int xsim_check_xch(void *xch, const char *call)
{
    int ok = 0;
    pthread_mutex_lock(&handles_lock);
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
        if (xch && handles[i] == xch) ok = 1;
    pthread_mutex_unlock(&handles_lock);
    if (!ok) return xsim_fail(EBADF, "%s: invalid xc_interface handle", call);
    xsim_clear_error();
    return 0;
}

XSIM_EXPORT void *xc_interface_open(void *logger, void *dombuild_logger, unsigned open_flags)
{
    (void)logger;
    (void)dombuild_logger;
    (void)open_flags;
    struct xsim_xch *h = calloc(1, sizeof(*h));
    if (!h) {
        xsim_fail(ENOMEM, "xc_interface_open: out of memory");
        return NULL;
    }
    h->magic = XSIM_XCH_MAGIC;
    pthread_mutex_lock(&handles_lock);
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        if (!handles[i]) {
            handles[i] = h;
            pthread_mutex_unlock(&handles_lock);
            return h;
        }
    }
    pthread_mutex_unlock(&handles_lock);
    free(h);
    xsim_fail(EMFILE, "xc_interface_open: too many open handles");
    return NULL;
}

XSIM_EXPORT int xc_interface_close(void *xch)
{
    if (!xch) return 0; /* libxc accepts NULL */
    pthread_mutex_lock(&handles_lock);
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        if (handles[i] == xch) {
            handles[i] = NULL;
            pthread_mutex_unlock(&handles_lock);
            free(xch);
            return 0;
        }
    }
    pthread_mutex_unlock(&handles_lock);
    return xsim_fail(EBADF, "xc_interface_close: invalid handle");
}

int64_t xsim_handles_live(void);
XSIM_EXPORT int64_t xsim_handles_live(void)
{
    int64_t n = 0;
    pthread_mutex_lock(&handles_lock);
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) n += handles[i] != NULL;
    pthread_mutex_unlock(&handles_lock);
    return n;
}
