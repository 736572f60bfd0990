/* rf_s3_list: operations on many keys: listings (ListObjectsV2 pages with
 * continuation tokens, "/"-delimited when not recursive) and deletes in
 * batches of DeleteObjects. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "store/rf_s3.h"
#include "store/rf_s3_impl.h"
#include "store/rf_s3xml.h"
#include "store/rf_sigv4.h"

#define DELETE_BATCH 1000       /* DeleteObjects' limit per request */

/* Base64 of the MD5 of p[0..n): DeleteObjects requires Content-MD5. */
static void content_md5(const void *p, size_t n, char out[32])
{
    uint8_t sum[16];
    unsigned int len = 16;
    EVP_Digest(p, n, sum, &len, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, sum, 16);
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

/* A listed key (or common prefix, without its '/') must be a key this
 * store would accept: a server answering "../x" or "a%00b" (which would
 * reach the callback cut at the NUL) is refused, not passed on. */
static int listed_key_valid(const rf_buf *key, size_t skip, int is_prefix, rf_err *err)
{
    size_t n = key->len - skip;
    if (memchr(key->data + skip, 0, n))
        return rf_errf(err, RF_ECORRUPT, "s3 list: the server listed a key with a NUL byte");
    if (is_prefix && n > 0 && key->data[key->len - 1] == '/')
        n--;
    char *k = rf_xmalloc(n + 1);
    memcpy(k, key->data + skip, n);
    k[n] = '\0';
    int rc = rf_store_key_valid(k, err);
    free(k);
    return rc ? rf_err_prefix(err, "s3 list: the server listed an invalid key") : 0;
}

/* One ListObjectsV2 page: calls fn per key (relative to the store prefix);
 * *stop when fn asked to. -1 on a listed key that is not a valid key. */
static int list_page(s3_store *s, const rf_s3_resp *resp, rf_list_fn fn, void *ud,
                     int *stop, rf_err *err)
{
    int rc = 0;
    rf_s3xml doc = {resp->body.data, resp->body.data + resp->body.len}, it, el;
    rf_buf enc = RF_BUF_INIT, key = RF_BUF_INIT, v = RF_BUF_INIT;
    int url_encoded = rf_s3xml_text(&doc, "EncodingType", &enc) && !strcmp(enc.data, "url");
    size_t skip = *s->prefix ? strlen(s->prefix) + 1 : 0;
    const char *tags[2] = {"Contents", "CommonPrefixes"};
    for (int t = 0; t < 2 && !*stop && rc == 0; t++) {
        it = doc;
        while (!*stop && rc == 0 && rf_s3xml_next(&it, tags[t], &el)) {
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
            if ((rc = listed_key_valid(&key, skip, t == 1, err)) != 0)
                break;
            if (t == 0) {
                if (rf_s3xml_text(&el, "Size", &v))
                    m.size = strtoull(v.data, NULL, 10);
                if (rf_s3xml_text(&el, "ETag", &v))
                    rf_s3_strip_quotes(m.etag, sizeof m.etag, v.data);
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
    return rc;
}

int rf_s3_list(rf_store *st, const char *prefix, int recursive, rf_list_fn fn,
               void *ud, rf_err *err)
{
    s3_store *s = impl(st);
    char *fp = rf_s3_full_key(s, prefix ? prefix : "");
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
            rc = list_page(s, &resp, fn, ud, &stop, err);
            int more = rf_s3xml_text(&doc, "IsTruncated", &trunc) && !strcmp(trunc.data, "true");
            if (rc || !more)
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

static int delete_batch(s3_store *s, const char *const *keys, size_t n, rf_err *err)
{
    rf_buf body = RF_BUF_INIT;
    rf_buf_adds(&body, "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        char *fk = rf_s3_full_key(s, keys[i]);
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

int rf_s3_del_many(rf_store *st, const char *const *keys, size_t n, rf_err *err)
{
    for (size_t i = 0; i < n; i += DELETE_BATCH)
        if (delete_batch(impl(st), keys + i, n - i < DELETE_BATCH ? n - i : DELETE_BATCH,
                         err) < 0)
            return -1;
    return 0;
}

