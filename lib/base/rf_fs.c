/* rf_fs: see rf_fs.h. */
#include "base/rf_fs.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rf_path_join(char *out, size_t n, const char *dir, const char *name, rf_err *err)
{
    int len = snprintf(out, n, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= n)
        return rf_errf(err, RF_EINVAL, "path too long: %.64s.../%.64s", dir, name);
    return 0;
}

int rf_mkdir_p(const char *dir, rf_err *err)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return rf_errf(err, RF_EINVAL, "path too long: %.64s...", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return rf_err_errno(err, "mkdir %s", p);
            *s = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return rf_err_errno(err, "mkdir %s", p);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc != 0 && errno != ENOENT ? -1 : 0;
}

int rf_rmtree(const char *dir, rf_err *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : rf_err_errno(err, "remove %s", dir);
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return rf_err_errno(err, "remove %s", dir);
    return 0;
}

int rf_copy_file(const char *src, const char *dst, rf_err *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", dst, (int)getpid());
    FILE *in = fopen(src, "rb");
    if (!in)
        return rf_err_errno(err, "open %s", src);
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        fclose(in);
        return rf_err_errno(err, "create %s", tmp);
    }
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
            rc = rf_err_errno(err, "write %s", tmp);
            break;
        }
    if (!rc && ferror(in))
        rc = rf_err_errno(err, "read %s", src);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0)
        rc = rc ? rc : rf_err_errno(err, "sync %s", tmp);
    fclose(in);
    fclose(out);
    if (!rc && rename(tmp, dst) != 0)
        rc = rf_err_errno(err, "rename %s", dst);
    if (rc)
        unlink(tmp);
    return rc;
}
