/* jpeg_err.c — libjpeg errors as messages and a longjmp (jpeg_err.h). */
#include "data/jpeg_err.h"

#include <jerror.h>

static void fail(j_common_ptr c, const char *what)
{
    bb_jpeg_err *e = (bb_jpeg_err *)c->err;
    char text[JMSG_LENGTH_MAX];
    (*c->err->format_message)(c, text);
    snprintf(e->msg, sizeof e->msg, "%s JPEG: %s", what, text);
    longjmp(e->jump, 1);
}

static void on_error(j_common_ptr c)
{
    fail(c, "corrupt");
}

/* msg_level -1 is a warning; trace messages (>= 0) are dropped. */
static void on_message(j_common_ptr c, int msg_level)
{
    if (msg_level == -1 && c->err->msg_code == JWRN_JPEG_EOF)
        fail(c, "truncated");
    if (msg_level == -1)
        c->err->num_warnings++;
}

static void no_output(j_common_ptr c)
{
    (void)c;
}

struct jpeg_error_mgr *bb_jpeg_err_init(bb_jpeg_err *e)
{
    struct jpeg_error_mgr *m = jpeg_std_error(&e->pub);
    m->error_exit = on_error;
    m->emit_message = on_message;
    m->output_message = no_output;
    e->msg[0] = '\0';
    return m;
}
