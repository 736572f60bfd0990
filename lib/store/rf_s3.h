/* rf_s3: the s3:// store backend (rf_store_s3_open) and the S3 rules it
 * follows, exposed for tests.
 *
 *   s3://bucket[/prefix]   keys live under "prefix/"; endpoint and region
 *                          come from rf_config (cfg->s3) or, with no config,
 *                          the AWS_* environment; credentials from the
 *                          chain of rf_awscreds (static keys of the config,
 *                          web identity, profile, EC2 instance role).
 *
 * Writes are all-or-nothing: a single PUT up to the multipart threshold,
 * else a multipart upload that is aborted on any failure, so a half-written
 * object never becomes visible. Listing uses ListObjectsV2 with continuation
 * tokens; non-recursive listings use the "/" delimiter and report common
 * prefixes as keys ending in '/'. Cold objects follow AWS's semantics: a
 * GLACIER or DEEP_ARCHIVE object answers GET with InvalidObjectState until a
 * RestoreObject completes; rf_store_meta.restore_state comes from the
 * storage class and x-amz-restore. A store handle is not thread-safe. */
#ifndef RF_S3_H
#define RF_S3_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_err.h"
#include "store/rf_awscreds.h"
#include "store/rf_store.h"

/* rf_store_meta.restore_state values. */
enum {
    RF_S3_READABLE = 0,
    RF_S3_ARCHIVED = 1,
    RF_S3_RESTORING = 2,
    RF_S3_RESTORED = 3
};

/* Split "s3://bucket/prefix/" into bucket and prefix (no leading or
 * trailing '/'; "" if none). Both malloc'd. */
int rf_s3_parse_url(const char *url, char **bucket, char **prefix, rf_err *err);

/* Restore state from the storage class (x-amz-storage-class; NULL or "" is
 * STANDARD) and the x-amz-restore header (NULL or "" if absent). */
int rf_s3_restore_state(const char *storage_class, const char *restore);

/* The ETag S3 gives a completed multipart upload: hex MD5 of the
 * concatenated binary MD5s of the parts, "-", number of parts (quoted).
 * Returns -1 if a part ETag is not a plain MD5. */
int rf_s3_multipart_etag(char *const *part_etags, size_t n, char out[80]);

/* RestoreObject request body for `days` days at retrieval tier `tier`
 * ("Standard", "Bulk", "Expedited"). */
void rf_s3_restore_body(rf_buf *out, int days, const char *tier);

/* "Fri, 21 Dec 2012 00:00:00 GMT" or "2012-12-21T00:00:00.000Z" to Unix
 * seconds; -1 if neither. */
int64_t rf_s3_parse_time(const char *s);

/* The credential chain for conf (its static keys first) and cfg (where
 * they came from; may be NULL): what a store opened with them signs with.
 * `ruvflow config show` prints its source. */
int rf_s3_open_creds(const rf_s3_conf *conf, const rf_config *cfg, rf_awscreds **out,
                     rf_err *err);

#endif
