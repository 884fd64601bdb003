/*
 * remove_tree.h — for unit tests that build a folder tree in a temporary
 * directory: removes it again, whatever a test left in it (folders made
 * unreadable or unwritable on purpose are opened up first).
 */
#ifndef BB_TEST_REMOVE_TREE_H
#define BB_TEST_REMOVE_TREE_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0755);
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char p[1024];
                snprintf(p, sizeof p, "%s/%s", path, e->d_name);
                remove_tree(p);
            }
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

#endif
