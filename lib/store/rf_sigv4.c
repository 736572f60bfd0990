/* rf_sigv4: AWS Signature Version 4 signing; see rf_sigv4.h.
 *
 * Steps, as AWS documents them: canonical request (method, encoded path,
 * sorted encoded query, sorted lower-cased headers with trimmed values, the
 * signed-header list, payload hash), string to sign (algorithm, date, scope,
 * hash of the canonical request), signing key (HMAC chain over date, region,
 * service, "aws4_request"), signature (HMAC of the string to sign). */
#include "store/rf_sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

/* Headers never signed: hop-by-hop or rewritten by proxies (same list as
 * AWS's SDKs), and the Authorization header itself. */
static const char *const unsigned_headers[] = {
    "authorization", "connection", "expect", "transfer-encoding",
    "user-agent", "x-amzn-trace-id", NULL,
};

typedef struct canon_kv {
    char *name, *value;  /* owned */
    size_t order;        /* input position: keeps duplicate headers stable */
} canon_kv;

typedef struct kv_list {
    canon_kv *v;
    size_t n, cap;
} kv_list;

static void kv_push(kv_list *l, char *name, char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = rf_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n] = (canon_kv){name, value, l->n};
    l->n++;
}

static void kv_free(kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
}

static int kv_cmp(const void *a, const void *b)
{
    const canon_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Query parameters sort by encoded name, then encoded value. */
static int query_cmp(const void *a, const void *b)
{
    const canon_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

void rf_sigv4_uri_encode(rf_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    rf_buf_grow(b, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            rf_buf_add(b, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rf_buf_add(b, e, 3);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void rf_sigv4_uri_decode(rf_buf *b, const char *s, size_t n)
{
    rf_buf_grow(b, n);
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            char c = (char)(hi << 4 | lo);
            rf_buf_add(b, &c, 1);
            i += 2;
        } else {
            rf_buf_add(b, &s[i], 1);
        }
    }
}

void rf_sigv4_amz_date(char out[17], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static char *lower_dup(const char *s)
{
    char *d = rf_xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

/* SigV4's Trimall: strip leading and trailing whitespace and turn each run
 * of inner whitespace (including folded line breaks) into one space. */
static char *trimall_dup(const char *s)
{
    rf_buf b = RF_BUF_INIT;
    int pending_space = 0;
    rf_buf_add(&b, "", 0);
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
            pending_space = b.len > 0;
            continue;
        }
        if (pending_space)
            rf_buf_add(&b, " ", 1);
        pending_space = 0;
        rf_buf_add(&b, s, 1);
    }
    return rf_buf_detach(&b, NULL);
}

static int header_is_unsigned(const char *lname)
{
    for (const char *const *h = unsigned_headers; *h; h++)
        if (!strcmp(*h, lname))
            return 1;
    return 0;
}

/* Remove "." and ".." segments and empty segments (RFC 3986 5.2.4 plus the
 * SigV4 rule that "//" collapses). Ends with '/' if the input did or if the
 * last segment was "." or "..". */
static void normalize_path(rf_buf *out, const char *path)
{
    size_t n = strlen(path), nseg = 0;
    const char **seg = rf_xmalloc((n / 2 + 2) * sizeof *seg);
    size_t *seglen = rf_xmalloc((n / 2 + 2) * sizeof *seglen);
    int trailing = n > 0 && path[n - 1] == '/';
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 1 && p[0] == '.') {
            trailing = 1;
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg)
                nseg--;
            trailing = 1;
        } else {
            seg[nseg] = p;
            seglen[nseg++] = len;
            trailing = e != NULL;
        }
        p += len;
    }
    for (size_t i = 0; i < nseg; i++) {
        rf_buf_add(out, "/", 1);
        rf_buf_add(out, seg[i], seglen[i]);
    }
    if (nseg == 0 || trailing)
        rf_buf_add(out, "/", 1);
    free(seg);
    free(seglen);
}

static void add_result(rf_sigv4_result *r, const char *name, const char *value)
{
    r->add[r->nadd].name = name;
    r->add[r->nadd].value = rf_xstrdup(value);
    r->nadd++;
}

static void signing_key(const rf_sigv4_params *p, const char *date,
                        uint8_t key[RF_SHA256_LEN])
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "AWS4%s", p->secret_key);
    rf_hmac_sha256(k.data, k.len, date, 8, key);
    rf_hmac_sha256(key, RF_SHA256_LEN, p->region, strlen(p->region), key);
    rf_hmac_sha256(key, RF_SHA256_LEN, p->service, strlen(p->service), key);
    rf_hmac_sha256(key, RF_SHA256_LEN, "aws4_request", 12, key);
    /* The buffer held the secret: do not leave it in freed memory. */
    memset(k.data, 0, k.len);
    rf_buf_free(&k);
}

/* Canonical headers: lower-case names, sorted, duplicates joined with ','
 * in their original order. Fills *canon ("name:value\n" lines) and
 * *signed_list ("a;b;c"). Fails without a Host header. */
static int canonical_headers(const rf_sigv4_request *rq, const char *const *extra,
                             size_t nextra, rf_buf *canon, rf_buf *signed_list,
                             rf_err *err)
{
    kv_list l = {0};
    int have_host = 0;
    for (size_t i = 0; i < rq->nheaders; i++) {
        char *name = lower_dup(rq->headers[i].name);
        if (header_is_unsigned(name)) {
            free(name);
            continue;
        }
        have_host |= !strcmp(name, "host");
        kv_push(&l, name, trimall_dup(rq->headers[i].value));
    }
    for (size_t i = 0; i + 1 < nextra; i += 2)
        kv_push(&l, rf_xstrdup(extra[i]), trimall_dup(extra[i + 1]));
    if (!have_host) {
        kv_free(&l);
        return rf_errf(err, RF_EINVAL, "sigv4: the request has no Host header");
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, kv_cmp);
    for (size_t i = 0; i < l.n; i++) {
        int same = i > 0 && !strcmp(l.v[i].name, l.v[i - 1].name);
        if (same) {
            rf_buf_addf(canon, ",%s", l.v[i].value);
            continue;
        }
        if (i > 0)
            rf_buf_add(canon, "\n", 1);
        rf_buf_addf(canon, "%s:%s", l.v[i].name, l.v[i].value);
        if (signed_list->len)
            rf_buf_add(signed_list, ";", 1);
        rf_buf_adds(signed_list, l.v[i].name);
    }
    rf_buf_add(canon, "\n", 1);
    kv_free(&l);
    return 0;
}

static void canonical_query(const rf_sigv4_request *rq, const char *const *extra,
                            size_t nextra, rf_buf *out)
{
    kv_list l = {0};
    for (size_t i = 0; i < rq->nquery + nextra / 2; i++) {
        const char *k, *v;
        if (i < rq->nquery) {
            k = rq->query[i].name;
            v = rq->query[i].value ? rq->query[i].value : "";
        } else {
            k = extra[2 * (i - rq->nquery)];
            v = extra[2 * (i - rq->nquery) + 1];
        }
        rf_buf ek = RF_BUF_INIT, ev = RF_BUF_INIT;
        rf_sigv4_uri_encode(&ek, k, strlen(k), 0);
        rf_sigv4_uri_encode(&ev, v, strlen(v), 0);
        rf_buf_add(&ek, "", 0);
        rf_buf_add(&ev, "", 0);
        kv_push(&l, rf_buf_detach(&ek, NULL), rf_buf_detach(&ev, NULL));
    }
    if (l.n) /* qsort(NULL, 0, ...) is undefined */
        qsort(l.v, l.n, sizeof *l.v, query_cmp);
    for (size_t i = 0; i < l.n; i++)
        rf_buf_addf(out, "%s%s=%s", i ? "&" : "", l.v[i].name, l.v[i].value);
    kv_free(&l);
}

static int check_params(const rf_sigv4_request *rq, const rf_sigv4_params *p,
                        rf_err *err)
{
    if (!p->access_key || !*p->access_key || !p->secret_key)
        return rf_errf(err, RF_EAUTH, "sigv4: no credentials");
    if (!p->region || !*p->region || !p->service || !*p->service)
        return rf_errf(err, RF_EINVAL, "sigv4: region and service are required");
    if (!rq->method || !rq->path || rq->path[0] != '/')
        return rf_errf(err, RF_EINVAL, "sigv4: the path must start with '/'");
    return 0;
}

int rf_sigv4_sign(const rf_sigv4_request *rq, const rf_sigv4_params *p,
                  enum rf_sigv4_form form, rf_sigv4_result *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    if (check_params(rq, p, err) < 0)
        return -1;

    char amz_date[17], date[9], expires[24];
    rf_sigv4_amz_date(amz_date, p->when);
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    snprintf(expires, sizeof expires, "%ld", p->expires);

    rf_buf scope = RF_BUF_INIT, credential = RF_BUF_INIT;
    rf_buf_addf(&scope, "%s/%s/%s/aws4_request", date, p->region, p->service);
    rf_buf_addf(&credential, "%s/%s", p->access_key, scope.data);

    const char *payload = rq->payload_hash ? rq->payload_hash : RF_SIGV4_EMPTY_SHA256;
    int sign_token = p->session_token && !p->omit_session_token;

    /* Headers the signer adds and signs (name, value pairs). */
    const char *hextra[6];
    size_t nh = 0;
    if (form == RF_SIGV4_HEADER) {
        hextra[nh++] = "x-amz-date", hextra[nh++] = amz_date;
        if (sign_token)
            hextra[nh++] = "x-amz-security-token", hextra[nh++] = p->session_token;
        if (p->content_sha256_header)
            hextra[nh++] = "x-amz-content-sha256", hextra[nh++] = payload;
    }
    rf_buf canon_headers = RF_BUF_INIT, signed_headers = RF_BUF_INIT;
    if (canonical_headers(rq, hextra, nh, &canon_headers, &signed_headers, err) < 0) {
        rf_buf_free(&scope);
        rf_buf_free(&credential);
        rf_buf_free(&canon_headers);
        rf_buf_free(&signed_headers);
        return -1;
    }

    /* Query parameters the signer adds and signs (query form). */
    const char *qextra[12];
    size_t nq = 0;
    if (form == RF_SIGV4_QUERY) {
        qextra[nq++] = "X-Amz-Algorithm", qextra[nq++] = ALGORITHM;
        qextra[nq++] = "X-Amz-Credential", qextra[nq++] = credential.data;
        qextra[nq++] = "X-Amz-Date", qextra[nq++] = amz_date;
        qextra[nq++] = "X-Amz-Expires", qextra[nq++] = expires;
        if (sign_token)
            qextra[nq++] = "X-Amz-Security-Token", qextra[nq++] = p->session_token;
        qextra[nq++] = "X-Amz-SignedHeaders", qextra[nq++] = signed_headers.data;
    }

    rf_buf *cr = &out->canonical_request;
    rf_buf_addf(cr, "%s\n", rq->method);
    if (p->normalize_path) {
        rf_buf norm = RF_BUF_INIT;
        normalize_path(&norm, rq->path);
        rf_sigv4_uri_encode(cr, norm.data, norm.len, 1);
        rf_buf_free(&norm);
    } else {
        rf_sigv4_uri_encode(cr, rq->path, strlen(rq->path), 1);
    }
    rf_buf_add(cr, "\n", 1);
    canonical_query(rq, qextra, nq, cr);
    rf_buf_addf(cr, "\n%s\n%s\n%s", canon_headers.data, signed_headers.data, payload);

    uint8_t h[RF_SHA256_LEN], key[RF_SHA256_LEN], sig[RF_SHA256_LEN];
    char hexh[RF_SHA256_HEX];
    rf_sha256(cr->data, cr->len, h);
    rf_hex(hexh, h, RF_SHA256_LEN);
    rf_buf_addf(&out->string_to_sign, ALGORITHM "\n%s\n%s\n%s", amz_date, scope.data,
                hexh);
    signing_key(p, date, key);
    rf_hmac_sha256(key, RF_SHA256_LEN, out->string_to_sign.data,
                   out->string_to_sign.len, sig);
    memset(key, 0, sizeof key);
    rf_hex(out->signature, sig, RF_SHA256_LEN);

    /* What goes on the wire, in the order AWS's signers add it. */
    if (form == RF_SIGV4_HEADER) {
        if (p->session_token)
            add_result(out, "X-Amz-Security-Token", p->session_token);
        add_result(out, "X-Amz-Date", amz_date);
        if (p->content_sha256_header)
            add_result(out, "x-amz-content-sha256", payload);
        rf_buf auth = RF_BUF_INIT;
        rf_buf_addf(&auth, ALGORITHM " Credential=%s, SignedHeaders=%s, Signature=%s",
                    credential.data, signed_headers.data, out->signature);
        add_result(out, "Authorization", auth.data);
        rf_buf_free(&auth);
    } else {
        add_result(out, "X-Amz-Algorithm", ALGORITHM);
        add_result(out, "X-Amz-Credential", credential.data);
        add_result(out, "X-Amz-Date", amz_date);
        add_result(out, "X-Amz-SignedHeaders", signed_headers.data);
        add_result(out, "X-Amz-Expires", expires);
        if (p->session_token)
            add_result(out, "X-Amz-Security-Token", p->session_token);
        add_result(out, "X-Amz-Signature", out->signature);
    }
    rf_buf_free(&scope);
    rf_buf_free(&credential);
    rf_buf_free(&canon_headers);
    rf_buf_free(&signed_headers);
    return 0;
}

void rf_sigv4_result_free(rf_sigv4_result *r)
{
    rf_buf_free(&r->canonical_request);
    rf_buf_free(&r->string_to_sign);
    for (size_t i = 0; i < r->nadd; i++)
        free(r->add[i].value);
    r->nadd = 0;
}
