/* rf_fs: the few file-system chores several layers need: making a folder
 * and its parents, removing a tree, copying a file durably. */
#ifndef RF_FS_H
#define RF_FS_H

#include "base/rf_err.h"

#include <stddef.h>

/* out = dir + "/" + name; an error (not a truncated path) when it does not
 * fit in n bytes. */
int rf_path_join(char *out, size_t n, const char *dir, const char *name, rf_err *err);

/* mkdir -p: dir and its missing parents (mode 0755). */
int rf_mkdir_p(const char *dir, rf_err *err);

/* rm -rf: dir and everything below it; a missing dir is not an error.
 * Does not follow symbolic links. */
int rf_rmtree(const char *dir, rf_err *err);

/* Copy src to dst through a temporary file, fsync, then rename: dst is
 * either the old file or the whole new one. */
int rf_copy_file(const char *src, const char *dst, rf_err *err);

#endif
