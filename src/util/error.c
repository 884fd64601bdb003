/* error.c — formatting for bb_err (see error.h). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

static int set(bb_err *e, int oom, const char *fmt, va_list ap)
{
    if (e) {
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        e->oom = oom;
    }
    return -1;
}

int bb_err_set(bb_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(e, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int bb_err_oom(bb_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(e, 1, fmt, ap);
    va_end(ap);
    return -1;
}
