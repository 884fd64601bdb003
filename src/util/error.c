/* error.c — formatting for bb_err (see error.h). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

int bb_err_set(bb_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int bb_err_oom(bb_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->oom = 1;
    }
    return -1;
}
