/* Error reporting the way libxc does it: errno plus a per-thread xc_error. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xsim.h"

static _Thread_local struct xc_error last_error;

int xsim_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    last_error.code = XC_INTERNAL_ERROR;
    vsnprintf((char *)last_error.message, sizeof(last_error.message), fmt, ap);
    va_end(ap);
    errno = err; /* last, so formatting cannot clobber it */
    return -1;
}

void xsim_clear_error(void)
{
    last_error.code = XC_ERROR_NONE;
    last_error.message[0] = 0;
}

XSIM_EXPORT const struct xc_error *xc_get_last_error(void *xch)
{
    (void)xch;
    return &last_error;
}

XSIM_EXPORT void xc_clear_last_error(void *xch)
{
    (void)xch;
    xsim_clear_error();
}
