/*
 * jpeg_err.h — libjpeg error handling that never ends the process.
 *
 * Why this file exists: libjpeg's default error handler prints and calls
 * exit(), which a loader thread must never do; a corrupt file has to become
 * a message that names it and a skipped item. bb_jpeg_err installs an
 * error_exit that formats libjpeg's message (format_message) and longjmps
 * back to the caller's setjmp. It also turns the one warning that means
 * "the file ended early" (JWRN_JPEG_EOF) into an error: libjpeg would pad a
 * truncated image with grey and carry on, while PIL refuses such a file.
 * Other warnings (e.g. "extraneous bytes before marker") are ignored, as PIL
 * ignores them. Encoder and decoder both use it (image_transform.c,
 * jpeg_synth.c); each call has its own bb_jpeg_err, so it is thread-safe.
 *
 *   bb_jpeg_err je;
 *   cinfo.err = bb_jpeg_err_init(&je);
 *   if (setjmp(je.jump)) { ...je.msg...; jpeg_destroy_...(&cinfo); }
 */
#ifndef BB_JPEG_ERR_H
#define BB_JPEG_ERR_H

#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg sees a jpeg_error_mgr */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 32]; /* "corrupt JPEG: ..." or "truncated JPEG: ..." */
} bb_jpeg_err;

struct jpeg_error_mgr *bb_jpeg_err_init(bb_jpeg_err *e);

#endif
