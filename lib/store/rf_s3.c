/* rf_s3: the s3:// store backend over rf_s3_client; see rf_s3.h.
 *
 * This file opens and closes a store, holds its table of operations and the
 * operations on one object (get, head, delete, copy, restore), and the S3
 * rules exposed for tests. Writes are rf_s3_write.c over the multipart
 * uploads of rf_s3_multipart.c; listings and batched deletes rf_s3_list.c. */
#include "store/rf_s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rf_config.h"
#include "store/rf_s3_client.h"
#include "store/rf_s3_impl.h"
#include "store/rf_s3xml.h"

/* --- helpers exposed for tests ------------------------------------------ */

int rf_s3_parse_url(const char *url, char **bucket, char **prefix, rf_err *err)
{
    *bucket = *prefix = NULL;
    if (strncmp(url, "s3://", 5) != 0)
        return rf_errf(err, RF_EINVAL, "'%s' is not an s3:// URL", url);
    const char *b = url + 5;
    size_t bl = strcspn(b, "/");
    if (bl == 0)
        return rf_errf(err, RF_EINVAL, "'%s': no bucket name", url);
    const char *p = b + bl;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    *bucket = rf_xmalloc(bl + 1);
    memcpy(*bucket, b, bl);
    (*bucket)[bl] = '\0';
    *prefix = rf_xmalloc(pl + 1);
    memcpy(*prefix, p, pl);
    (*prefix)[pl] = '\0';
    return 0;
}

int rf_s3_restore_state(const char *storage_class, const char *restore)
{
    if (restore && *restore) {
        /* x-amz-restore: ongoing-request="true"  (restore running), or
         * ongoing-request="false", expiry-date="..." (copy available). */
        if (strstr(restore, "ongoing-request=\"true\""))
            return RF_S3_RESTORING;
        if (strstr(restore, "ongoing-request=\"false\""))
            return RF_S3_RESTORED;
    }
    if (storage_class && (!strcmp(storage_class, "GLACIER") ||
                          !strcmp(storage_class, "DEEP_ARCHIVE")))
        return RF_S3_ARCHIVED;
    return RF_S3_READABLE;
}


void rf_s3_restore_body(rf_buf *out, int days, const char *tier)
{
    rf_buf_addf(out,
                "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Days>%d</Days><GlacierJobParameters><Tier>%s</Tier>"
                "</GlacierJobParameters></RestoreRequest>",
                days, tier);
}

int64_t rf_s3_parse_time(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    }
    return end ? (int64_t)timegm(&tm) : -1;
}

/* --- small pieces ----------------------------------------------------------- */

char *rf_s3_full_key(const s3_store *s, const char *key)
{
    rf_buf b = RF_BUF_INIT;
    if (*s->prefix)
        rf_buf_addf(&b, "%s/%s", s->prefix, key);
    else
        rf_buf_adds(&b, key);
    return rf_buf_detach(&b, NULL);
}

void rf_s3_strip_quotes(char *dst, size_t n, const char *etag)
{
    size_t l = strlen(etag);
    if (l >= 2 && etag[0] == '"' && etag[l - 1] == '"')
        etag++, l -= 2;
    if (l >= n)
        l = n - 1;
    memcpy(dst, etag, l);
    dst[l] = '\0';
}

void rf_s3_put_headers(rf_s3_req *rq, const rf_put_opts *o)
{
    const char *ct = o && o->content_type ? o->content_type : "application/octet-stream";
    rf_s3_req_header(rq, "content-type", ct);
    if (o && o->storage_class && *o->storage_class)
        rf_s3_req_header(rq, "x-amz-storage-class", o->storage_class);
}


/* S3 may answer 200 with an <Error> document (CopyObject,
 * CompleteMultipartUpload); such an answer is a failure. */
int rf_s3_error_in_body(const rf_s3_resp *r, rf_err *err)
{
    rf_s3xml doc = {r->body.data ? r->body.data : "",
                    (r->body.data ? r->body.data : "") + r->body.len}, e;
    if (!rf_s3xml_next(&doc, "Error", &e))
        return 0;
    return rf_s3_error(err, r->status, r->body.data, r->body.len);
}

/* --- operations on one object ------------------------------------------------ */

static int s3_get_stream(rf_store *st, const char *key, uint64_t off, uint64_t len,
                         rf_read_fn fn, void *ud, rf_err *err)
{
    s3_store *s = impl(st);
    char *fk = rf_s3_full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "GET", fk);
    rq.ranged = off || len;
    rq.range_off = off;
    rq.range_len = len;
    rq.sink = fn;
    rq.sink_ud = ud;
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc < 0 && err && err->code == RF_ESTATE)
        rf_err_prefix(err, "%s is archived (restore it first, then read)", key);
    rf_s3_resp_free(&resp);
    free(fk);
    return rc;
}

static int s3_head(rf_store *st, const char *key, rf_store_meta *m, rf_err *err)
{
    s3_store *s = impl(st);
    char *fk = rf_s3_full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "HEAD", fk);
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc == 0) {
        memset(m, 0, sizeof *m);
        m->size = resp.content_length;
        int64_t t = rf_s3_parse_time(resp.last_modified);
        m->mtime = t < 0 ? 0 : t;
        rf_s3_strip_quotes(m->etag, sizeof m->etag, resp.etag);
        snprintf(m->storage_class, sizeof m->storage_class, "%s",
                 resp.storage_class[0] ? resp.storage_class : "STANDARD");
        m->restore_state = rf_s3_restore_state(resp.storage_class, resp.restore);
    }
    rf_s3_resp_free(&resp);
    free(fk);
    return rc;
}

static int s3_del(rf_store *st, const char *key, rf_err *err)
{
    s3_store *s = impl(st);
    char *fk = rf_s3_full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "DELETE", fk);
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    rf_s3_resp_free(&resp);
    free(fk);
    return rc;
}

static int s3_copy(rf_store *st, const char *src, const char *dst, const rf_put_opts *o,
                   rf_err *err)
{
    s3_store *s = impl(st);
    char *fs = rf_s3_full_key(s, src), *fd = rf_s3_full_key(s, dst);
    rf_buf source = RF_BUF_INIT;
    rf_buf_addf(&source, "/%s/", s->bucket);
    rf_sigv4_uri_encode(&source, fs, strlen(fs), 1);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "PUT", fd);
    rf_s3_req_header(&rq, "x-amz-copy-source", source.data);
    rf_s3_req_header(&rq, "x-amz-metadata-directive", "COPY");
    if (o && o->storage_class && *o->storage_class)
        rf_s3_req_header(&rq, "x-amz-storage-class", o->storage_class);
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc == 0)
        rc = rf_s3_error_in_body(&resp, err);
    if (rc < 0)
        rf_err_prefix(err, "copy %s -> %s", src, dst);
    rf_s3_resp_free(&resp);
    rf_buf_free(&source);
    free(fs);
    free(fd);
    return rc;
}

static int s3_restore(rf_store *st, const char *key, int days, rf_err *err)
{
    s3_store *s = impl(st);
    char *fk = rf_s3_full_key(s, key);
    rf_buf body = RF_BUF_INIT;
    rf_s3_restore_body(&body, days > 0 ? days : 1, "Standard");
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "POST", fk);
    rf_s3_req_query(&rq, "restore", "");
    rf_s3_req_header(&rq, "content-type", "application/xml");
    rq.body = body.data;
    rq.body_len = body.len;
    /* 202: restore started; 200: already restored (expiry extended);
     * 409 RestoreAlreadyInProgress: one is running -- ours, if an earlier
     * attempt reached the server. */
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc < 0 && resp.status == 409 && resp.ambiguous)
        rc = 0;
    rf_s3_resp_free(&resp);
    rf_buf_free(&body);
    free(fk);
    return rc;
}

static void s3_close(rf_store *st)
{
    s3_store *s = impl(st);
    rf_s3_client_free(s->cl);
    free(s->bucket);
    free(s->prefix);
    free(s);
    free(st->url);
    free(st);
}

static const struct rf_store_ops s3_ops = {
    .scheme = "s3",
    .put_file = rf_s3_put_file,
    .get_stream = s3_get_stream,
    .head = s3_head,
    .list = rf_s3_list,
    .del = s3_del,
    .del_many = rf_s3_del_many,
    .copy = s3_copy,
    .restore = s3_restore,
    .writer_open = rf_s3_writer_open,
    .writer_write = rf_s3_writer_write,
    .writer_commit = rf_s3_writer_commit,
    .writer_abort = rf_s3_writer_abort,
    .close = s3_close,
};

/* The chain's options: the conf's static keys first, then the AWS_*
 * variables of the other sources. */
static void creds_opts(const rf_s3_conf *conf, const rf_config *cfg, rf_awscreds_opts *o,
                       rf_buf *src)
{
    rf_awscreds_opts_from_env(o);
    o->access_key = conf->access_key;
    o->secret_key = conf->secret_key;
    o->session_token = conf->session_token;
    const char *from = cfg ? rf_config_source(cfg, "s3.access_key_id") : "env AWS_ACCESS_KEY_ID";
    if (from && strcmp(from, "default"))
        rf_buf_addf(src, "static keys (%s)", from);
    else
        rf_buf_adds(src, "static keys (s3.access_key_id)");
    o->static_source = src->data;
    o->region = conf->region;
    o->http.connect_timeout_ms = 1000;
    o->http.timeout_ms = 3000;
}

/* A profile's region applies when nothing else set one. */
static int region_defaulted(const rf_config *cfg)
{
    if (cfg)
        return !strcmp(rf_config_source(cfg, "s3.region"), "default");
    const char *r = getenv("AWS_REGION"), *d = getenv("AWS_DEFAULT_REGION");
    return !(r && *r) && !(d && *d);
}

int rf_s3_open_creds(const rf_s3_conf *conf, const rf_config *cfg, rf_awscreds **out,
                     rf_err *err)
{
    rf_awscreds_opts o;
    rf_buf src = RF_BUF_INIT;
    creds_opts(conf, cfg, &o, &src);
    int rc = rf_awscreds_open(&o, out, err);
    rf_buf_free(&src);
    return rc;
}

int rf_store_s3_open(const char *url, const rf_config *cfg, rf_store **out, rf_err *err)
{
    *out = NULL;
    s3_store *s = rf_xcalloc(1, sizeof *s);
    if (rf_s3_parse_url(url, &s->bucket, &s->prefix, err) < 0) {
        free(s->bucket);
        free(s->prefix);
        free(s);
        return -1;
    }
    rf_s3_conf env;
    const rf_s3_conf *conf = cfg ? &cfg->s3 : NULL;
    if (!conf) {
        rf_s3_conf_from_env(&env);
        conf = &env;
    }
    rf_awscreds *creds = NULL;
    int rc = rf_s3_open_creds(conf, cfg, &creds, err);
    if (rc == 0) {
        rf_s3_conf c = *conf;
        if (rf_awscreds_region(creds) && region_defaulted(cfg))
            c.region = (char *)rf_awscreds_region(creds);
        rc = rf_s3_client_new_creds(&c, creds, s->bucket, &s->cl, err);
    }
    rf_awscreds_unref(creds);
    if (!cfg)
        rf_s3_conf_free(&env);
    if (rc < 0) {
        free(s->bucket);
        free(s->prefix);
        free(s);
        return rf_err_prefix(err, "%s", url);
    }
    rf_store *st = rf_xcalloc(1, sizeof *st);
    st->ops = &s3_ops;
    st->impl = s;
    rf_buf u = RF_BUF_INIT;
    rf_buf_addf(&u, "s3://%s%s%s", s->bucket, *s->prefix ? "/" : "", s->prefix);
    st->url = rf_buf_detach(&u, NULL);
    *out = st;
    return 0;
}
