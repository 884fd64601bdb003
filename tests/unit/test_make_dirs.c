/*
 * test_make_dirs.c — unit tests for src/util/make_dirs.c.
 *
 * Why this file exists: every `--out` folder and the data-set cache are made
 * through bb_make_dirs, so `--out results/2026/cpu` must work with nothing
 * there yet, an existing folder must be fine, and a file where a folder
 * should be (or an empty or over-long name) must be an error that names the
 * path, never a half-made tree reported as success.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "remove_tree.h"
#include "util/make_dirs.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int setup(void **state)
{
    static char root[64];
    snprintf(root, sizeof root, "/tmp/bb_make_dirs_XXXXXX");
    if (!mkdtemp(root))
        return -1;
    *state = root;
    return 0;
}

static int teardown(void **state)
{
    remove_tree(*state);
    return 0;
}

static void test_nested(void **state)
{
    const char *root = *state;
    char p[256];
    bb_err err = {0};
    snprintf(p, sizeof p, "%s/a/b//c/", root); /* a doubled and a trailing slash */
    assert_int_equal(bb_make_dirs(p, &err), 0);
    snprintf(p, sizeof p, "%s/a/b/c", root);
    assert_true(is_dir(p));
    assert_int_equal(bb_make_dirs(p, &err), 0); /* again: it exists */
    snprintf(p, sizeof p, "%s/a/b/c/d", root);
    assert_int_equal(bb_make_dirs(p, &err), 0);
    assert_true(is_dir(p));
}

static void test_file_in_the_way(void **state)
{
    const char *root = *state;
    char f[200], p[256];
    bb_err err = {0};
    snprintf(f, sizeof f, "%s/file", root);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(bb_make_dirs(f, &err), -1); /* the folder itself is a file */
    assert_non_null(strstr(err.msg, f));
    assert_non_null(strstr(err.msg, "a file is in the way"));
    snprintf(p, sizeof p, "%s/x/y", f); /* a parent is a file */
    memset(&err, 0, sizeof err);
    assert_int_equal(bb_make_dirs(p, &err), -1);
    assert_non_null(strstr(err.msg, f));
}

static void test_bad_names(void **state)
{
    (void)state;
    bb_err err = {0};
    assert_int_equal(bb_make_dirs("", &err), -1);
    assert_non_null(strstr(err.msg, "empty name"));
    char *long_path = malloc(5000);
    assert_non_null(long_path);
    memset(long_path, 'a', 4999);
    long_path[0] = '/', long_path[4999] = '\0';
    memset(&err, 0, sizeof err);
    assert_int_equal(bb_make_dirs(long_path, &err), -1);
    assert_non_null(strstr(err.msg, "too long"));
    free(long_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_in_the_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
