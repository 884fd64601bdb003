/*
 * version.h — batchbench's version, in one place: the command's --version,
 * the environment block and every result file's "tool" record read it, so a
 * result can always be traced to the program that produced it.
 */
#ifndef BB_VERSION_H
#define BB_VERSION_H

#define BB_VERSION "0.1.0"

/* The commit batchbench was built from (make passes it in), or "unknown". */
const char *bb_git_commit(void);

#endif
