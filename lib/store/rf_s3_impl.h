/* rf_s3_impl.h: private to rf_s3.c, rf_s3_list.c, rf_s3_multipart.c and
 * rf_s3_write.c, the files of the s3:// store backend. */
#ifndef RF_S3_IMPL_H
#define RF_S3_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "store/rf_s3_client.h"
#include "store/rf_store.h"

typedef struct s3_store {
    rf_s3_client *cl;
    char *bucket;
    char *prefix;               /* "" or "a/b" */
} s3_store;

static inline s3_store *impl(rf_store *s)
{
    return s->impl;
}

/* rf_s3.c: small pieces. */
/* The object key of key under the store's prefix (malloc'd). */
char *rf_s3_full_key(const s3_store *s, const char *key);
void rf_s3_strip_quotes(char *dst, size_t n, const char *etag);
/* content-type and x-amz-storage-class of a new object. */
void rf_s3_put_headers(rf_s3_req *rq, const rf_put_opts *o);
/* S3 may answer 200 with an <Error> document: then -1 with *err set. */
int rf_s3_error_in_body(const rf_s3_resp *r, rf_err *err);

/* rf_s3_multipart.c: one multipart upload. */
typedef struct rf_s3_mpu {
    s3_store *s;
    char *key;              /* full key */
    char *upload_id;
    char **etags;
    size_t nparts, cap;
} rf_s3_mpu;

int rf_s3_mpu_begin(s3_store *s, const char *key, const rf_put_opts *o, rf_s3_mpu *m,
                    rf_err *err);
/* Upload the next part (number nparts+1) from memory, on the store's client. */
int rf_s3_mpu_part(rf_s3_mpu *m, const void *p, size_t len, rf_err *err);
int rf_s3_mpu_complete(rf_s3_mpu *m, rf_err *err);
/* Abort (a failure to abort is added to *err's message) and free. */
void rf_s3_mpu_abort(rf_s3_mpu *m, rf_err *err);
void rf_s3_mpu_free(rf_s3_mpu *m);
/* Part size for an object of `size` bytes. */
uint64_t rf_s3_part_size_for(const s3_store *s, uint64_t size);
/* All of fd's size bytes as a multipart upload, parts sent in parallel. */
int rf_s3_put_multipart_fd(s3_store *s, const char *key, int fd, uint64_t size,
                           const rf_put_opts *o, rf_err *err);

/* rf_s3_write.c: the write operations. */
int rf_s3_put_file(rf_store *st, const char *key, const char *path,
                   const rf_put_opts *o, rf_err *err);
int rf_s3_writer_open(rf_store *st, const char *key, const rf_put_opts *o,
                      rf_store_writer **out, rf_err *err);
int rf_s3_writer_write(rf_store_writer *bw, const void *p, size_t n, rf_err *err);
int rf_s3_writer_commit(rf_store_writer *bw, rf_err *err);
void rf_s3_writer_abort(rf_store_writer *bw);

/* rf_s3_list.c: operations on many keys. */
int rf_s3_list(rf_store *st, const char *prefix, int recursive, rf_list_fn fn,
               void *ud, rf_err *err);
int rf_s3_del_many(rf_store *st, const char *const *keys, size_t n, rf_err *err);

#endif
