/* rf_store: one object-store interface over several backends.
 *
 *   file:///abs/path            local directory (the embedded default)
 *   s3://bucket/prefix          S3 or S3-compatible (MinIO, s3rver)
 *
 * A store is opened from a URL; keys are relative to its prefix, '/'-separated,
 * validated by rf_store_key_valid (no "..", no leading '/', no NUL, no empty
 * segments, no segment over 255 bytes, at most 1024 bytes). Writes are all-or-nothing: a reader sees the
 * old object or the complete new one, never a partial one.
 *
 * Backends implement struct rf_store_ops; callers only use the rf_store_*
 * functions. Every function returns 0 or -1 with *err filled. */
#ifndef RF_STORE_H
#define RF_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"

typedef struct rf_config rf_config;  /* rf_config.h */

typedef struct rf_store rf_store;

typedef struct rf_store_meta {
    uint64_t size;
    int64_t mtime;            /* unix seconds */
    char etag[80];
    char storage_class[32];   /* "" when the backend has none */
    /* Cold objects: restore state from x-amz-restore (always 0 on file://).
     * 0 = readable, 1 = archived (needs restore), 2 = restore in progress,
     * 3 = restored copy available */
    int restore_state;
} rf_store_meta;

typedef struct rf_put_opts {
    const char *storage_class;  /* NULL or "" = backend default */
    const char *content_type;   /* NULL = application/octet-stream */
} rf_put_opts;

/* Called once per key by rf_store_list; return non-zero to stop early.
 * Keys are full keys (relative to the store root, not to the prefix), in
 * ascending byte order (S3 lists a page's common prefixes after its
 * objects). Non-recursive listings also report each common prefix
 * ("directory") once, as a key ending in '/' -- never a valid object key --
 * with a zeroed m. */
typedef int (*rf_list_fn)(void *ud, const char *key, const rf_store_meta *m);

/* Streaming read: data arrives in chunks; return -1 to abort. */
typedef int (*rf_read_fn)(void *ud, const void *p, size_t n);

/* A streaming writer: open, write chunks, then commit (makes the object
 * visible atomically) or abort (leaves nothing behind). */
typedef struct rf_store_writer rf_store_writer;

/* Every backend's writer embeds this header as its first member, with
 * store set by writer_open: the generic rf_store_writer_* functions reach
 * the backend's ops through it. */
struct rf_store_writer {
    rf_store *store;
};

struct rf_store_ops {
    const char *scheme;
    int (*put_file)(rf_store *s, const char *key, const char *path,
                    const rf_put_opts *o, rf_err *err);
    int (*get_stream)(rf_store *s, const char *key, uint64_t off, uint64_t len,
                      rf_read_fn fn, void *ud, rf_err *err);
    /* optional: the whole object appended to out, read straight into it
     * (NULL: get_stream through a copy) */
    int (*get_mem)(rf_store *s, const char *key, rf_buf *out, rf_err *err);
    int (*head)(rf_store *s, const char *key, rf_store_meta *m, rf_err *err);
    int (*list)(rf_store *s, const char *prefix, int recursive, rf_list_fn fn,
                void *ud, rf_err *err);
    int (*del)(rf_store *s, const char *key, rf_err *err);
    int (*del_many)(rf_store *s, const char *const *keys, size_t n, rf_err *err);
    int (*copy)(rf_store *s, const char *src, const char *dst,
                const rf_put_opts *o, rf_err *err);
    int (*restore)(rf_store *s, const char *key, int days, rf_err *err);
    int (*writer_open)(rf_store *s, const char *key, const rf_put_opts *o,
                       rf_store_writer **w, rf_err *err);
    int (*writer_write)(rf_store_writer *w, const void *p, size_t n, rf_err *err);
    int (*writer_commit)(rf_store_writer *w, rf_err *err);
    void (*writer_abort)(rf_store_writer *w);
    void (*close)(rf_store *s);
};

/* A backend's open allocates the struct, url and impl; ops->close (called by
 * rf_store_close) releases all three. */
struct rf_store {
    const struct rf_store_ops *ops;
    char *url;     /* as opened, without credentials */
    void *impl;    /* backend state */
};

/* Open by URL. cfg may be NULL (environment only). */
int rf_store_open(const char *url, const rf_config *cfg, rf_store **out, rf_err *err);
void rf_store_close(rf_store *s);

int rf_store_key_valid(const char *key, rf_err *err);
/* Split "s3://b/p/key" style full URLs: *store_url gets the scheme+root the
 * caller should open, *key the rest; both malloc'd. For file:// the root is
 * the directory part. */
int rf_store_split_url(const char *url, char **store_url, char **key, rf_err *err);

int rf_store_put_file(rf_store *s, const char *key, const char *path,
                      const rf_put_opts *o, rf_err *err);
int rf_store_put_mem(rf_store *s, const char *key, const void *p, size_t n,
                     const rf_put_opts *o, rf_err *err);
/* Atomically writes to a temp file beside path and renames. */
int rf_store_get_file(rf_store *s, const char *key, const char *path, rf_err *err);
int rf_store_get_mem(rf_store *s, const char *key, rf_buf *out, rf_err *err);
/* Ranged read; len 0 means to the end. A range running past the end is
 * clipped to it; off beyond the end is RF_EINVAL (S3's InvalidRange). */
int rf_store_get_stream(rf_store *s, const char *key, uint64_t off, uint64_t len,
                        rf_read_fn fn, void *ud, rf_err *err);
int rf_store_head(rf_store *s, const char *key, rf_store_meta *m, rf_err *err);
/* 1 exists, 0 missing, -1 error. Deleting a missing key succeeds (as on S3). */
int rf_store_exists(rf_store *s, const char *key, rf_err *err);
int rf_store_list(rf_store *s, const char *prefix, int recursive, rf_list_fn fn,
                  void *ud, rf_err *err);
int rf_store_delete(rf_store *s, const char *key, rf_err *err);
int rf_store_delete_many(rf_store *s, const char *const *keys, size_t n, rf_err *err);
int rf_store_copy(rf_store *s, const char *src, const char *dst,
                  const rf_put_opts *o, rf_err *err);
int rf_store_restore(rf_store *s, const char *key, int days, rf_err *err);
/* Copy between two stores (any backends) by streaming src into a writer on
 * dst; all-or-nothing like every write. */
int rf_store_transfer(rf_store *src, const char *src_key, rf_store *dst,
                      const char *dst_key, const rf_put_opts *o, rf_err *err);

/* Commit and abort both free the writer; a failed commit leaves nothing
 * behind (the previous object, if any, stays as it was). abort(NULL) is a
 * no-op. */
int rf_store_writer_open(rf_store *s, const char *key, const rf_put_opts *o,
                         rf_store_writer **w, rf_err *err);
int rf_store_writer_write(rf_store_writer *w, const void *p, size_t n, rf_err *err);
int rf_store_writer_commit(rf_store_writer *w, rf_err *err);
void rf_store_writer_abort(rf_store_writer *w);

/* Backend constructors, used by rf_store_open. */
int rf_store_file_open(const char *url, rf_store **out, rf_err *err);
int rf_store_s3_open(const char *url, const rf_config *cfg, rf_store **out, rf_err *err);

#endif
