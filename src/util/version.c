/* version.c — the commit this binary was built from (version.h). */
#include "util/version.h"

#ifndef BB_GIT_COMMIT
#define BB_GIT_COMMIT ""
#endif

const char *bb_git_commit(void)
{
    return BB_GIT_COMMIT[0] ? BB_GIT_COMMIT : "unknown";
}
