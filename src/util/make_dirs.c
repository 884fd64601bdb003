/* make_dirs.c — a folder and its missing parents (make_dirs.h). */
#include "util/make_dirs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir, where an existing folder (not a file) is success. */
static int make_one(const char *dir, bb_err *err)
{
    struct stat st;
    if (mkdir(dir, 0755) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;
    return bb_err_set(err, "%s: cannot create folder: %s", dir, errno == EEXIST ? "a file is in the way" : strerror(errno));
}

int bb_make_dirs(const char *dir, bb_err *err)
{
    char buf[4096];
    if (!dir || !dir[0])
        return bb_err_set(err, "cannot create a folder with an empty name");
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return bb_err_set(err, "%.64s...: cannot create folder: the path is too long", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        int rc = make_one(buf, err);
        *p = '/';
        if (rc != 0)
            return -1;
    }
    return make_one(buf, err);
}
