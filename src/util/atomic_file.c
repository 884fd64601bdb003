/* atomic_file.c — write to a temporary name, then rename (atomic_file.h). */
#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Best effort: makes the rename itself durable. */
static void sync_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Writes data to tmp and flushes it to disk; an errno value or 0. */
static int write_tmp(const char *tmp, const void *data, size_t len)
{
    errno = 0;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return errno ? errno : EIO;
    int rc = 0;
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = errno ? errno : EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = errno ? errno : EIO;
    return rc;
}

int bb_write_atomic(const char *path, const void *data, size_t len, const char *what, bb_err *err)
{
    /* The temporary name is unique across hosts sharing the folder (run
     * --shard on a cluster: process ids repeat from node to node). */
    char host[64] = "";
    struct timespec ts;
    gethostname(host, sizeof host - 1);
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t n = strlen(path) + sizeof host + 64;
    char *tmp = malloc(n);
    if (!tmp)
        return bb_err_oom(err, "out of memory writing %s '%s'", what, path);
    snprintf(tmp, n, "%s.tmp.%s.%ld.%ld", path, host, (long)getpid(), (long)ts.tv_nsec);
    int rc = write_tmp(tmp, data, len);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = errno ? errno : EIO;
    if (rc != 0) {
        unlink(tmp);
        bb_err_set(err, "cannot write %s '%s': %s", what, path, strerror(rc));
    } else {
        sync_parent_dir(path);
    }
    free(tmp);
    return rc ? -1 : 0;
}
