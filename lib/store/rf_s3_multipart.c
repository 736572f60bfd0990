/* rf_s3_multipart: multipart uploads. One upload is begun, its parts are
 * sent (from memory, or from a file by up to PUT_THREADS threads with a
 * client each), then completed -- or aborted on any failure, so a
 * half-written object never becomes visible. A completion retried after an
 * ambiguous failure is recognised by the multipart ETag S3 computes. */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_hash.h"
#include "store/rf_s3.h"
#include "store/rf_s3_impl.h"
#include "store/rf_s3xml.h"

#define MIN_PART (5u << 20)     /* S3's smallest non-final part */
#define MAX_PARTS 10000

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

int rf_s3_mpu_begin(s3_store *s, const char *key, const rf_put_opts *o, rf_s3_mpu *m,
                    rf_err *err)
{
    memset(m, 0, sizeof *m);
    m->s = s;
    m->key = rf_s3_full_key(s, key);
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "POST", m->key);
    rf_s3_req_query(&rq, "uploads", "");
    rf_s3_put_headers(&rq, o);
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
static int upload_part(rf_s3_client *cl, const rf_s3_mpu *m, size_t num, const void *p, int fd,
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
int rf_s3_mpu_part(rf_s3_mpu *m, const void *p, size_t len, rf_err *err)
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

void rf_s3_mpu_free(rf_s3_mpu *m)
{
    free(m->key);
    free(m->upload_id);
    for (size_t i = 0; i < m->nparts; i++)
        free(m->etags[i]);
    free(m->etags);
    memset(m, 0, sizeof *m);
}

/* Abort and free. A failure to abort is added to *err's message: the
 * upload's parts stay invisible, but they cost storage until a lifecycle
 * rule removes them. */
void rf_s3_mpu_abort(rf_s3_mpu *m, rf_err *err)
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
    rf_s3_mpu_free(m);
}

/* After an ambiguous failure, "NoSuchUpload" may mean our earlier attempt
 * completed it: the object then carries exactly the multipart ETag. */
static int mpu_completed_already(rf_s3_mpu *m)
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

int rf_s3_mpu_complete(rf_s3_mpu *m, rf_err *err)
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
        rc = rf_s3_error_in_body(&resp, err);
    if (rc < 0 && resp.ambiguous && resp.status == 404 && mpu_completed_already(m))
        rc = 0;
    rf_s3_resp_free(&resp);
    rf_buf_free(&body);
    return rc;
}

/* Part size for an object of `size` bytes: the configured one, at least
 * S3's minimum, grown so the object fits in MAX_PARTS parts. */
uint64_t rf_s3_part_size_for(const s3_store *s, uint64_t size)
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
    const rf_s3_mpu *m;
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
    if (rf_s3_client_new_creds(rf_s3_client_conf(j->s->cl), rf_s3_client_creds(j->s->cl),
                               j->s->bucket, &cl, &e) < 0) {
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

int rf_s3_put_multipart_fd(s3_store *s, const char *key, int fd, uint64_t size,
                           const rf_put_opts *o, rf_err *err)
{
    rf_s3_mpu m;
    if (rf_s3_mpu_begin(s, key, o, &m, err) < 0) {
        rf_s3_mpu_free(&m);
        return -1;
    }
    part_jobs j = {.s = s, .m = &m, .fd = fd, .size = size, .ps = rf_s3_part_size_for(s, size)};
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
    /* The etags now belong to the upload (rf_s3_mpu_free releases them). */
    m.etags = j.etags;
    m.nparts = m.cap = j.nparts;
    if (j.failed) {
        *err = j.err;
        rf_s3_mpu_abort(&m, err);
        return -1;
    }
    if (rf_s3_mpu_complete(&m, err) < 0) {
        rf_s3_mpu_abort(&m, err);
        return -1;
    }
    rf_s3_mpu_free(&m);
    return 0;
}

