/* rf_test: small helpers shared by the cmocka test programs. Header-only:
 * each test is its own binary and links nothing but libruvflow. */
#ifndef RF_TEST_H
#define RF_TEST_H

#include <ftw.h>
#include <errno.h>
#include <stdio.h>

static int rf_test_rm_entry(const char *path, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove a directory tree (like rm -rf, without a shell); 0 on success,
 * also when it does not exist. */
static inline int rf_test_rmtree(const char *dir)
{
    int rc = nftw(dir, rf_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc == 0 || (rc < 0 && errno == ENOENT) ? 0 : -1;
}

#endif
