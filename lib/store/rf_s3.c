/* rf_s3: the s3:// store backend over rf_s3_client; see rf_s3.h. */
#include "store/rf_s3.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "base/rf_hash.h"
#include "store/rf_s3_client.h"
#include "store/rf_s3xml.h"

#define MIN_PART (5u << 20)     /* S3's smallest non-final part */
#define MAX_PARTS 10000
#define DELETE_BATCH 1000       /* DeleteObjects' limit per request */

typedef struct s3_store {
    rf_s3_client *cl;
    char *bucket;
    char *prefix;               /* "" or "a/b" */
} s3_store;

static s3_store *impl(rf_store *s)
{
    return s->impl;
}

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

int rf_s3_multipart_etag(char *const *part_etags, size_t n, char out[80])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -1;
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *e = part_etags[i];
        size_t l = strlen(e);
        if (l >= 2 && e[0] == '"' && e[l - 1] == '"')
            e++, l -= 2;
        uint8_t bin[16];
        if (l != 32 || rf_unhex(bin, e, 16) < 0)
            rc = -1;
        else
            EVP_DigestUpdate(md, bin, 16);
    }
    uint8_t sum[16];
    unsigned int len = 16;
    EVP_DigestFinal_ex(md, sum, &len);
    EVP_MD_CTX_free(md);
    if (rc == 0) {
        char hex[33];
        rf_hex(hex, sum, 16);
        snprintf(out, 80, "\"%s-%zu\"", hex, n);
    }
    return rc;
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

static char *full_key(const s3_store *s, const char *key)
{
    rf_buf b = RF_BUF_INIT;
    if (*s->prefix)
        rf_buf_addf(&b, "%s/%s", s->prefix, key);
    else
        rf_buf_adds(&b, key);
    return rf_buf_detach(&b, NULL);
}

static void strip_quotes(char *dst, size_t n, const char *etag)
{
    size_t l = strlen(etag);
    if (l >= 2 && etag[0] == '"' && etag[l - 1] == '"')
        etag++, l -= 2;
    if (l >= n)
        l = n - 1;
    memcpy(dst, etag, l);
    dst[l] = '\0';
}

static void put_headers(rf_s3_req *rq, const rf_put_opts *o)
{
    const char *ct = o && o->content_type ? o->content_type : "application/octet-stream";
    rf_s3_req_header(rq, "content-type", ct);
    if (o && o->storage_class && *o->storage_class)
        rf_s3_req_header(rq, "x-amz-storage-class", o->storage_class);
}

/* Base64 of the MD5 of p[0..n): DeleteObjects requires Content-MD5. */
static void content_md5(const void *p, size_t n, char out[32])
{
    uint8_t sum[16];
    unsigned int len = 16;
    EVP_Digest(p, n, sum, &len, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, sum, 16);
}

/* S3 may answer 200 with an <Error> document (CopyObject,
 * CompleteMultipartUpload); such an answer is a failure. */
static int error_in_body(const rf_s3_resp *r, rf_err *err)
{
    rf_s3xml doc = {r->body.data ? r->body.data : "",
                    (r->body.data ? r->body.data : "") + r->body.len}, e;
    if (!rf_s3xml_next(&doc, "Error", &e))
        return 0;
    return rf_s3_error(err, r->status, r->body.data, r->body.len);
}

/* --- multipart uploads ------------------------------------------------------- */

typedef struct mpu {
    s3_store *s;
    char *key;              /* full key */
    char *upload_id;
    char **etags;
    size_t nparts, cap;
} mpu;

static int mpu_begin(s3_store *s, const char *key, const rf_put_opts *o, mpu *m,
                     rf_err *err)
{
    memset(m, 0, sizeof *m);
    m->s = s;
    m->key = full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "POST", m->key);
    rf_s3_req_query(&rq, "uploads", "");
    put_headers(&rq, o);
    /* A retry after an unseen failure could start a second upload that
     * nobody completes or aborts: only retry when the server saw nothing. */
    rq.idempotent = 0;
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc == 0) {
        rf_s3xml doc = {resp.body.data, resp.body.data + resp.body.len};
        rf_buf id = RF_BUF_INIT;
        if (rf_s3xml_text(&doc, "UploadId", &id) && id.len)
            m->upload_id = rf_buf_detach(&id, NULL);
        else
            rc = rf_errf(err, RF_ECORRUPT, "s3: CreateMultipartUpload %s: no UploadId in "
                         "the answer", m->key);
        rf_buf_free(&id);
    }
    rf_s3_resp_free(&resp);
    return rc;
}

/* Upload part `num` of m's upload over client cl, from memory (p) or, if
 * p is NULL, from fd at off; *etag gets the part's ETag (malloc'd). Safe to
 * run from several threads at once, each with its own client. */
static int upload_part(rf_s3_client *cl, const mpu *m, size_t num, const void *p, int fd,
                       uint64_t off, size_t len, char **etag, rf_err *err)
{
    char nums[16], hex[RF_SHA256_HEX];
    snprintf(nums, sizeof nums, "%zu", num);
    uint8_t *buf = NULL;
    if (!p) {
        /* A file part is read once into memory: hashed for the signature,
         * then sent from there. */
        buf = malloc(len ? len : 1);
        if (!buf)
            return rf_errf(err, RF_ENOMEM, "s3: %zu bytes for a part", len);
        ssize_t got = pread(fd, buf, len, (off_t)off);
        if (got < 0 || (size_t)got != len) {
            free(buf);
            return rf_errf(err, RF_EIO, "s3: reading part %s of %s: %s", nums, m->key,
                           got < 0 ? strerror(errno) : "short read");
        }
        p = buf;
    }
    uint8_t h[RF_SHA256_LEN];
    rf_sha256(p, len, h);
    rf_hex(hex, h, RF_SHA256_LEN);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "PUT", m->key);
    rf_s3_req_query(&rq, "partNumber", nums);
    rf_s3_req_query(&rq, "uploadId", m->upload_id);
    rq.body = p;
    rq.body_len = len;
    rq.body_sha256 = hex;
    int rc = rf_s3_do(cl, &rq, &resp, err);
    free(buf);
    if (rc < 0)
        rf_err_prefix(err, "upload part %s", nums);
    else if (!resp.etag[0])
        rc = rf_errf(err, RF_ECORRUPT, "s3: UploadPart %s of %s: no ETag", nums, m->key);
    else
        *etag = rf_xstrdup(resp.etag);
    rf_s3_resp_free(&resp);
    return rc;
}

/* Upload the next part (number nparts+1) from memory, on the store's client. */
static int mpu_part(mpu *m, const void *p, size_t len, rf_err *err)
{
    if (m->nparts >= MAX_PARTS)
        return rf_errf(err, RF_ETOOBIG, "s3: %s: more than %d parts", m->key, MAX_PARTS);
    char *etag;
    if (upload_part(m->s->cl, m, m->nparts + 1, p, -1, 0, len, &etag, err) < 0)
        return -1;
    if (m->nparts == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->etags = rf_xrealloc(m->etags, m->cap * sizeof *m->etags);
    }
    m->etags[m->nparts++] = etag;
    return 0;
}

static void mpu_free(mpu *m)
{
    for (size_t i = 0; i < m->nparts; i++)
        free(m->etags[i]);
    free(m->etags);
    free(m->key);
    free(m->upload_id);
    memset(m, 0, sizeof *m);
}

/* Abort and free. A failure to abort is added to *err's message: the
 * upload's parts stay invisible, but they cost storage until a lifecycle
 * rule removes them. */
static void mpu_abort(mpu *m, rf_err *err)
{
    if (m->upload_id) {
        rf_s3_req rq;
        rf_s3_resp resp;
        rf_err aerr = {0};
        rf_s3_req_init(&rq, "DELETE", m->key);
        rf_s3_req_query(&rq, "uploadId", m->upload_id);
        if (rf_s3_do(m->s->cl, &rq, &resp, &aerr) < 0 && resp.status != 404 && err) {
            size_t l = strlen(err->msg);
            snprintf(err->msg + l, sizeof err->msg - l, " (aborting the upload failed: %s)",
                     aerr.msg);
        }
        rf_s3_resp_free(&resp);
    }
    mpu_free(m);
}

/* After an ambiguous failure, "NoSuchUpload" may mean our earlier attempt
 * completed it: the object then carries exactly the multipart ETag. */
static int mpu_completed_already(mpu *m)
{
    char want[80];
    if (rf_s3_multipart_etag(m->etags, m->nparts, want) < 0)
        return 0;
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_err e = {0};
    rf_s3_req_init(&rq, "HEAD", m->key);
    int ok = rf_s3_do(m->s->cl, &rq, &resp, &e) == 0 && !strcmp(resp.etag, want);
    rf_s3_resp_free(&resp);
    return ok;
}

static int mpu_complete(mpu *m, rf_err *err)
{
    rf_buf body = RF_BUF_INIT;
    rf_buf_adds(&body, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < m->nparts; i++) {
        rf_buf_addf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        rf_s3xml_escape(&body, m->etags[i]);
        rf_buf_adds(&body, "</ETag></Part>");
    }
    rf_buf_adds(&body, "</CompleteMultipartUpload>");
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "POST", m->key);
    rf_s3_req_query(&rq, "uploadId", m->upload_id);
    rq.body = body.data;
    rq.body_len = body.len;
    /* Completing twice is harmless (S3 answers the second with the same
     * object or NoSuchUpload, checked below), so it is retried. */
    int rc = rf_s3_do(m->s->cl, &rq, &resp, err);
    if (rc == 0)
        rc = error_in_body(&resp, err);
    if (rc < 0 && resp.ambiguous && resp.status == 404 && mpu_completed_already(m))
        rc = 0;
    rf_s3_resp_free(&resp);
    rf_buf_free(&body);
    return rc;
}

/* Part size for an object of `size` bytes: the configured one, at least
 * S3's minimum, grown so the object fits in MAX_PARTS parts. */
static uint64_t part_size_for(const s3_store *s, uint64_t size)
{
    uint64_t ps = rf_s3_client_conf(s->cl)->part_size;
    if (ps < MIN_PART)
        ps = MIN_PART;
    if (size / ps >= MAX_PARTS)
        ps = (size + MAX_PARTS - 1) / MAX_PARTS;
    return ps;
}

/* Parts of a file are uploaded by up to PUT_THREADS threads, each with its
 * own client (connection), as the AWS CLI does: one stream rarely fills a
 * link, and hashing one part overlaps sending another. */
#define PUT_THREADS 4

typedef struct part_jobs {
    const s3_store *s;
    const mpu *m;
    int fd;
    uint64_t size, ps;
    size_t nparts;
    char **etags;             /* [nparts], filled by the workers */
    pthread_mutex_t lock;     /* guards next, failed, err */
    size_t next;
    int failed;
    rf_err err;               /* the first failure */
} part_jobs;

static void jobs_fail(part_jobs *j, const rf_err *e)
{
    pthread_mutex_lock(&j->lock);
    if (!j->failed)
        j->err = *e;
    j->failed = 1;
    pthread_mutex_unlock(&j->lock);
}

static void *part_worker(void *arg)
{
    part_jobs *j = arg;
    rf_s3_client *cl;
    rf_err e = {0};
    if (rf_s3_client_new(rf_s3_client_conf(j->s->cl), j->s->bucket, &cl, &e) < 0) {
        jobs_fail(j, &e);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next;
        int stop = j->failed || i == j->nparts;
        j->next += !stop;
        pthread_mutex_unlock(&j->lock);
        if (stop)
            break;
        uint64_t off = i * j->ps;
        size_t len = (size_t)(j->size - off < j->ps ? j->size - off : j->ps);
        if (upload_part(cl, j->m, i + 1, NULL, j->fd, off, len, &j->etags[i], &e) < 0) {
            jobs_fail(j, &e);
            break;
        }
    }
    rf_s3_client_free(cl);
    return NULL;
}

static int put_multipart_fd(s3_store *s, const char *key, int fd, uint64_t size,
                            const rf_put_opts *o, rf_err *err)
{
    mpu m;
    if (mpu_begin(s, key, o, &m, err) < 0) {
        mpu_free(&m);
        return -1;
    }
    part_jobs j = {.s = s, .m = &m, .fd = fd, .size = size, .ps = part_size_for(s, size)};
    j.nparts = (size_t)((size + j.ps - 1) / j.ps);
    j.etags = rf_xcalloc(j.nparts ? j.nparts : 1, sizeof *j.etags);
    pthread_mutex_init(&j.lock, NULL);
    pthread_t th[PUT_THREADS];
    size_t nth = j.nparts < PUT_THREADS ? j.nparts : PUT_THREADS, started = 0;
    for (; started < nth; started++)
        if (pthread_create(&th[started], NULL, part_worker, &j) != 0)
            break;
    if (started == 0)
        part_worker(&j); /* no thread available: upload in this one */
    for (size_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.lock);
    /* The etags now belong to the upload (mpu_free releases them). */
    m.etags = j.etags;
    m.nparts = m.cap = j.nparts;
    if (j.failed) {
        *err = j.err;
        mpu_abort(&m, err);
        return -1;
    }
    if (mpu_complete(&m, err) < 0) {
        mpu_abort(&m, err);
        return -1;
    }
    mpu_free(&m);
    return 0;
}

/* --- store operations ------------------------------------------------------ */

static int hash_fd(int fd, uint64_t size, char hex[RF_SHA256_HEX], rf_err *err)
{
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return rf_errf(err, RF_ENOMEM, "out of memory");
    rf_sha256_ctx *h = rf_sha256_new();
    uint64_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got <= 0) {
            rc = got < 0 ? rf_err_errno(err, "read") : rf_errf(err, RF_EIO, "short read");
            break;
        }
        rf_sha256_update(h, buf, (size_t)got);
        off += (uint64_t)got;
    }
    uint8_t sum[RF_SHA256_LEN];
    rf_sha256_final(h, sum);
    rf_sha256_free(h);
    free(buf);
    rf_hex(hex, sum, RF_SHA256_LEN);
    return rc;
}

static int s3_put_file(rf_store *st, const char *key, const char *path,
                       const rf_put_opts *o, rf_err *err)
{
    s3_store *s = impl(st);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_err_errno(err, "%s", path);
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rf_err_errno(err, "%s", path);
        close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)sb.st_size;
    int rc;
    if (size >= rf_s3_client_conf(s->cl)->multipart_threshold) {
        rc = put_multipart_fd(s, key, fd, size, o, err);
    } else {
        char hex[RF_SHA256_HEX];
        rc = hash_fd(fd, size, hex, err);
        if (rc == 0) {
            char *fk = full_key(s, key);
            rf_s3_req rq;
            rf_s3_resp resp;
            rf_s3_req_init(&rq, "PUT", fk);
            put_headers(&rq, o);
            rq.fd = fd;
            rq.body_len = size;
            rq.body_sha256 = hex;
            rc = rf_s3_do(s->cl, &rq, &resp, err);
            rf_s3_resp_free(&resp);
            free(fk);
        }
    }
    close(fd);
    return rc;
}

static int s3_get_stream(rf_store *st, const char *key, uint64_t off, uint64_t len,
                         rf_read_fn fn, void *ud, rf_err *err)
{
    s3_store *s = impl(st);
    char *fk = full_key(s, key);
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
    char *fk = full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "HEAD", fk);
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc == 0) {
        memset(m, 0, sizeof *m);
        m->size = resp.content_length;
        int64_t t = rf_s3_parse_time(resp.last_modified);
        m->mtime = t < 0 ? 0 : t;
        strip_quotes(m->etag, sizeof m->etag, resp.etag);
        snprintf(m->storage_class, sizeof m->storage_class, "%s",
                 resp.storage_class[0] ? resp.storage_class : "STANDARD");
        m->restore_state = rf_s3_restore_state(resp.storage_class, resp.restore);
    }
    rf_s3_resp_free(&resp);
    free(fk);
    return rc;
}

/* Keys in a listing asked with encoding-type=url come form-encoded: S3
 * writes a space as '+' (and a '+' as %2B), as botocore's unquote_plus
 * expects. */
static void form_decode(rf_buf *out, const char *s, size_t n)
{
    rf_buf tmp = RF_BUF_INIT;
    rf_buf_add(&tmp, s, n);
    for (size_t i = 0; i < tmp.len; i++)
        if (tmp.data[i] == '+')
            tmp.data[i] = ' ';
    rf_sigv4_uri_decode(out, tmp.data, tmp.len);
    rf_buf_free(&tmp);
}

/* One ListObjectsV2 page: calls fn per key (relative to the store prefix);
 * *stop when fn asked to. */
static int list_page(s3_store *s, const rf_s3_resp *resp, rf_list_fn fn, void *ud,
                     int *stop)
{
    rf_s3xml doc = {resp->body.data, resp->body.data + resp->body.len}, it, el;
    rf_buf enc = RF_BUF_INIT, key = RF_BUF_INIT, v = RF_BUF_INIT;
    int url_encoded = rf_s3xml_text(&doc, "EncodingType", &enc) && !strcmp(enc.data, "url");
    size_t skip = *s->prefix ? strlen(s->prefix) + 1 : 0;
    const char *tags[2] = {"Contents", "CommonPrefixes"};
    for (int t = 0; t < 2 && !*stop; t++) {
        it = doc;
        while (!*stop && rf_s3xml_next(&it, tags[t], &el)) {
            rf_store_meta m = {0};
            if (!rf_s3xml_text(&el, t == 0 ? "Key" : "Prefix", &v))
                continue;
            rf_buf_reset(&key);
            rf_buf_add(&key, "", 0);
            if (url_encoded)
                form_decode(&key, v.data, v.len);
            else
                rf_buf_add(&key, v.data, v.len);
            if (key.len <= skip)
                continue; /* the prefix itself ("dir/" marker objects) */
            if (t == 0) {
                if (rf_s3xml_text(&el, "Size", &v))
                    m.size = strtoull(v.data, NULL, 10);
                if (rf_s3xml_text(&el, "ETag", &v))
                    strip_quotes(m.etag, sizeof m.etag, v.data);
                if (rf_s3xml_text(&el, "LastModified", &v)) {
                    int64_t tm = rf_s3_parse_time(v.data);
                    m.mtime = tm < 0 ? 0 : tm;
                }
                if (rf_s3xml_text(&el, "StorageClass", &v))
                    snprintf(m.storage_class, sizeof m.storage_class, "%s", v.data);
                m.restore_state = rf_s3_restore_state(m.storage_class, NULL);
            }
            if (fn(ud, key.data + skip, &m))
                *stop = 1;
        }
    }
    rf_buf_free(&enc);
    rf_buf_free(&key);
    rf_buf_free(&v);
    return 0;
}

static int s3_list(rf_store *st, const char *prefix, int recursive, rf_list_fn fn,
                   void *ud, rf_err *err)
{
    s3_store *s = impl(st);
    char *fp = full_key(s, prefix ? prefix : "");
    rf_buf token = RF_BUF_INIT, trunc = RF_BUF_INIT;
    int rc = 0, stop = 0;
    do {
        rf_s3_req rq;
        rf_s3_resp resp;
        rf_s3_req_init(&rq, "GET", NULL);
        rf_s3_req_query(&rq, "list-type", "2");
        rf_s3_req_query(&rq, "encoding-type", "url");
        if (*fp)
            rf_s3_req_query(&rq, "prefix", fp);
        if (!recursive)
            rf_s3_req_query(&rq, "delimiter", "/");
        if (token.len)
            rf_s3_req_query(&rq, "continuation-token", token.data);
        rc = rf_s3_do(s->cl, &rq, &resp, err);
        if (rc == 0) {
            rf_s3xml doc = {resp.body.data, resp.body.data + resp.body.len};
            list_page(s, &resp, fn, ud, &stop);
            int more = rf_s3xml_text(&doc, "IsTruncated", &trunc) && !strcmp(trunc.data, "true");
            if (!more)
                rf_buf_reset(&token);
            else if (!rf_s3xml_text(&doc, "NextContinuationToken", &token) || !token.len)
                rc = rf_errf(err, RF_ECORRUPT, "s3 list %s: truncated listing without "
                             "NextContinuationToken", fp);
        }
        rf_s3_resp_free(&resp);
    } while (rc == 0 && !stop && token.len);
    rf_buf_free(&token);
    rf_buf_free(&trunc);
    free(fp);
    return rc;
}

static int s3_del(rf_store *st, const char *key, rf_err *err)
{
    s3_store *s = impl(st);
    char *fk = full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "DELETE", fk);
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    rf_s3_resp_free(&resp);
    free(fk);
    return rc;
}

static int delete_batch(s3_store *s, const char *const *keys, size_t n, rf_err *err)
{
    rf_buf body = RF_BUF_INIT;
    rf_buf_adds(&body, "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        char *fk = full_key(s, keys[i]);
        rf_buf_adds(&body, "<Object><Key>");
        rf_s3xml_escape(&body, fk);
        rf_buf_adds(&body, "</Key></Object>");
        free(fk);
    }
    rf_buf_adds(&body, "</Delete>");
    char md5[32];
    content_md5(body.data, body.len, md5);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "POST", NULL);
    rf_s3_req_query(&rq, "delete", "");
    rf_s3_req_header(&rq, "content-md5", md5);
    rf_s3_req_header(&rq, "content-type", "application/xml");
    rq.body = body.data;
    rq.body_len = body.len;
    int rc = rf_s3_do(s->cl, &rq, &resp, err);
    if (rc == 0) {
        /* Quiet mode lists only the keys that failed. */
        rf_s3xml doc = {resp.body.data, resp.body.data + resp.body.len}, e;
        if (rf_s3xml_next(&doc, "Error", &e)) {
            rf_buf k = RF_BUF_INIT, c = RF_BUF_INIT, m = RF_BUF_INIT;
            rf_s3xml_text(&e, "Key", &k);
            rf_s3xml_text(&e, "Code", &c);
            rf_s3xml_text(&e, "Message", &m);
            rc = rf_errf(err, !strcmp(c.data, "AccessDenied") ? RF_EAUTH : RF_EIO,
                         "s3 delete %.300s: %.100s: %.400s", k.data, c.data, m.data);
            rf_buf_free(&k);
            rf_buf_free(&c);
            rf_buf_free(&m);
        }
    }
    rf_s3_resp_free(&resp);
    rf_buf_free(&body);
    return rc;
}

static int s3_del_many(rf_store *st, const char *const *keys, size_t n, rf_err *err)
{
    for (size_t i = 0; i < n; i += DELETE_BATCH)
        if (delete_batch(impl(st), keys + i, n - i < DELETE_BATCH ? n - i : DELETE_BATCH,
                         err) < 0)
            return -1;
    return 0;
}

static int s3_copy(rf_store *st, const char *src, const char *dst, const rf_put_opts *o,
                   rf_err *err)
{
    s3_store *s = impl(st);
    char *fs = full_key(s, src), *fd = full_key(s, dst);
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
        rc = error_in_body(&resp, err);
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
    char *fk = full_key(s, key);
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

/* --- streaming writer ------------------------------------------------------- */

/* The generic writer header comes first: rf_store's dispatch reaches the
 * backend's ops through it. */
typedef struct s3_writer {
    rf_store_writer base;
    char *key;
    rf_put_opts opts;       /* strings owned */
    uint8_t *buf;           /* one part */
    size_t len, cap;
    mpu m;                  /* upload_id set once the first part is sent */
    int failed;
} s3_writer;

static void writer_free(s3_writer *w)
{
    mpu_free(&w->m);
    free(w->key);
    free((char *)w->opts.storage_class);
    free((char *)w->opts.content_type);
    free(w->buf);
    free(w);
}

static int s3_writer_open(rf_store *st, const char *key, const rf_put_opts *o,
                          rf_store_writer **out, rf_err *err)
{
    s3_store *s = impl(st);
    s3_writer *w = rf_xcalloc(1, sizeof *w);
    w->base.store = st;
    w->key = rf_xstrdup(key);
    if (o && o->storage_class)
        w->opts.storage_class = rf_xstrdup(o->storage_class);
    if (o && o->content_type)
        w->opts.content_type = rf_xstrdup(o->content_type);
    w->cap = (size_t)part_size_for(s, 0);
    w->buf = malloc(w->cap);
    if (!w->buf) {
        size_t cap = w->cap;
        writer_free(w);
        return rf_errf(err, RF_ENOMEM, "s3: no memory for a %zu-byte part buffer", cap);
    }
    *out = &w->base;
    return 0;
}

static int writer_flush_part(s3_writer *w, rf_err *err)
{
    s3_store *s = impl(w->base.store);
    if (!w->m.upload_id && mpu_begin(s, w->key, &w->opts, &w->m, err) < 0)
        return -1;
    if (mpu_part(&w->m, w->buf, w->len, err) < 0)
        return -1;
    w->len = 0;
    return 0;
}

static int s3_writer_write(rf_store_writer *bw, const void *p, size_t n, rf_err *err)
{
    s3_writer *w = (s3_writer *)bw;
    if (w->failed)
        return rf_errf(err, RF_EINVAL, "s3 write %s: the writer already failed", w->key);
    const uint8_t *src = p;
    while (n) {
        size_t take = w->cap - w->len < n ? w->cap - w->len : n;
        memcpy(w->buf + w->len, src, take);
        w->len += take, src += take, n -= take;
        if (w->len == w->cap && writer_flush_part(w, err) < 0) {
            w->failed = 1;
            mpu_abort(&w->m, err);
            return -1;
        }
    }
    return 0;
}

/* Commit releases the writer, whether it succeeds or not. */
static int s3_writer_commit(rf_store_writer *bw, rf_err *err)
{
    s3_writer *w = (s3_writer *)bw;
    s3_store *s = impl(w->base.store);
    int rc = 0;
    if (w->failed) {
        rc = rf_errf(err, RF_EINVAL, "s3 commit %s: the writer already failed", w->key);
    } else if (!w->m.upload_id) {
        char *fk = full_key(s, w->key);
        rf_s3_req rq;
        rf_s3_resp resp;
        rf_s3_req_init(&rq, "PUT", fk);
        put_headers(&rq, &w->opts);
        rq.body = w->buf;
        rq.body_len = w->len;
        rc = rf_s3_do(s->cl, &rq, &resp, err);
        rf_s3_resp_free(&resp);
        free(fk);
    } else {
        if (w->len)
            rc = writer_flush_part(w, err);
        if (rc == 0)
            rc = mpu_complete(&w->m, err);
        if (rc < 0)
            mpu_abort(&w->m, err);
    }
    writer_free(w);
    return rc;
}

static void s3_writer_abort(rf_store_writer *bw)
{
    s3_writer *w = (s3_writer *)bw;
    if (!w)
        return;
    mpu_abort(&w->m, NULL);
    writer_free(w);
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
    .put_file = s3_put_file,
    .get_stream = s3_get_stream,
    .head = s3_head,
    .list = s3_list,
    .del = s3_del,
    .del_many = s3_del_many,
    .copy = s3_copy,
    .restore = s3_restore,
    .writer_open = s3_writer_open,
    .writer_write = s3_writer_write,
    .writer_commit = s3_writer_commit,
    .writer_abort = s3_writer_abort,
    .close = s3_close,
};

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
    int rc = 0;
    if (!conf->access_key || !conf->secret_key)
        rc = rf_errf(err, RF_EAUTH, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY (or s3 keys in the config)");
    else
        rc = rf_s3_client_new(conf, s->bucket, &s->cl, err);
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
