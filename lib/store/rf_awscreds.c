/* rf_awscreds: the AWS credential chain and its refresh; see rf_awscreds.h. */
#include "store/rf_awscreds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "store/rf_awsini.h"

#define DEFAULT_MARGIN_S 300
#define RETRY_S 10
#define MAX_TOKEN_BYTES (64u << 10)

enum kind { K_STATIC, K_WEB_IDENTITY, K_IMDS };

struct rf_awscreds {
    pthread_mutex_t mu;        /* guards everything below */
    int refs;
    enum kind kind;
    char *source;
    char *region;              /* the profile's, or NULL */
    /* For refreshes. */
    char *token_file, *role_arn, *session_name, *endpoint;
    rf_aws_http http;
    long margin_s;
    int64_t (*now)(void *ud);
    void *now_ud;
    const rf_log *log;
    rf_aws_keys cur;
    int64_t next_try;          /* no refresh attempt before this */
    int refreshes;
};

static const char *env(const char *n)
{
    const char *v = getenv(n);
    return v && *v ? v : NULL;
}

void rf_awscreds_opts_from_env(rf_awscreds_opts *o)
{
    memset(o, 0, sizeof *o);
    o->home = env("HOME");
    o->profile = env("AWS_PROFILE");
    o->credentials_file = env("AWS_SHARED_CREDENTIALS_FILE");
    o->config_file = env("AWS_CONFIG_FILE");
    o->web_identity_token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    o->role_arn = env("AWS_ROLE_ARN");
    o->role_session_name = env("AWS_ROLE_SESSION_NAME");
    o->sts_endpoint = env("AWS_ENDPOINT_URL_STS");
    o->imds_endpoint = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *d = env("AWS_EC2_METADATA_DISABLED");
    o->imds_disabled = d && !strcasecmp(d, "true");
    o->region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
}

static int64_t clock_now(const rf_awscreds *c)
{
    return c->now ? c->now(c->now_ud) : (int64_t)time(NULL);
}

static rf_awscreds *provider_new(const rf_awscreds_opts *o, enum kind k)
{
    rf_awscreds *c = rf_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->refs = 1;
    c->kind = k;
    c->http = o->http;
    c->margin_s = o->refresh_margin_s > 0 ? o->refresh_margin_s : DEFAULT_MARGIN_S;
    c->now = o->now;
    c->now_ud = o->now_ud;
    c->log = o->log;
    return c;
}

static void provider_free(rf_awscreds *c)
{
    pthread_mutex_destroy(&c->mu);
    rf_aws_keys_free(&c->cur);
    free(c->source);
    free(c->region);
    free(c->token_file);
    free(c->role_arn);
    free(c->session_name);
    free(c->endpoint);
    free(c);
}

/* --- fetching -------------------------------------------------------------- */

/* The OIDC token: the whole file, surrounding blanks trimmed. Re-read at
 * every refresh: the kubelet rotates it. */
static int read_token(const char *path, rf_buf *tok, rf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "web identity token file %s", path);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && tok->len <= MAX_TOKEN_BYTES)
        rf_buf_add(tok, chunk, got);
    int bad = ferror(f);
    fclose(f);
    rf_buf_add(tok, "", 0);
    if (bad)
        return rf_errf(err, RF_EIO, "web identity token file %s: read error", path);
    if (tok->len > MAX_TOKEN_BYTES)
        return rf_errf(err, RF_EINVAL, "web identity token file %s: over %u bytes", path,
                       MAX_TOKEN_BYTES);
    char *s = tok->data;
    size_t n = tok->len;
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
    tok->len = n - lead;
    if (!tok->len)
        return rf_errf(err, RF_EINVAL, "web identity token file %s: empty", path);
    return 0;
}

static int fetch(rf_awscreds *c, rf_aws_keys *out, rf_err *err)
{
    if (c->kind == K_IMDS)
        return rf_aws_imds_fetch(c->endpoint, &c->http, out, NULL, err);
    rf_buf tok = RF_BUF_INIT;
    int rc = read_token(c->token_file, &tok, err);
    if (rc == 0)
        rc = rf_aws_sts_web_identity(c->endpoint, c->role_arn, c->session_name, tok.data,
                                     &c->http, out, err);
    if (tok.data)
        memset(tok.data, 0, tok.len);
    rf_buf_free(&tok);
    return rc;
}

/* --- the sources ----------------------------------------------------------- */

static int open_static(const rf_awscreds_opts *o, const char *ak, const char *sk,
                       const char *tok, const char *source, rf_awscreds **out)
{
    rf_awscreds *c = provider_new(o, K_STATIC);
    c->cur.access_key = rf_xstrdup(ak);
    c->cur.secret_key = rf_xstrdup(sk);
    c->cur.session_token = tok && *tok ? rf_xstrdup(tok) : NULL;
    c->source = rf_xstrdup(source);
    *out = c;
    return 0;
}

rf_awscreds *rf_awscreds_static(const char *ak, const char *sk, const char *token,
                                const char *source)
{
    if (!ak || !*ak || !sk || !*sk)
        return NULL;
    rf_awscreds_opts o = {0};
    rf_awscreds *c;
    open_static(&o, ak, sk, token, source, &c);
    return c;
}

static char *sts_endpoint(const rf_awscreds_opts *o)
{
    if (o->sts_endpoint)
        return rf_xstrdup(o->sts_endpoint);
    rf_buf b = RF_BUF_INIT;
    rf_buf_addf(&b, "https://sts.%s.amazonaws.com", o->region ? o->region : "us-east-1");
    return rf_buf_detach(&b, NULL);
}

/* First fetch of a refreshable source; source names it in errors. */
static int open_fetching(rf_awscreds *c, rf_awscreds **out, rf_err *err)
{
    if (fetch(c, &c->cur, err) < 0) {
        rf_err_prefix(err, "AWS credentials from %s", c->source);
        provider_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int open_web_identity(const rf_awscreds_opts *o, const char *token_file,
                             const char *role_arn, const char *session, const char *via,
                             rf_awscreds **out, rf_err *err)
{
    rf_awscreds *c = provider_new(o, K_WEB_IDENTITY);
    c->token_file = rf_xstrdup(token_file);
    c->role_arn = rf_xstrdup(role_arn);
    if (session) {
        c->session_name = rf_xstrdup(session);
    } else {
        rf_buf s = RF_BUF_INIT;   /* as the SDKs: unique per process and time */
        rf_buf_addf(&s, "ruvflow-%lld-%d", (long long)clock_now(c), (int)getpid());
        c->session_name = rf_buf_detach(&s, NULL);
    }
    c->endpoint = sts_endpoint(o);
    rf_buf src = RF_BUF_INIT;
    rf_buf_addf(&src, "web identity %s%s", role_arn, via ? via : "");
    c->source = rf_buf_detach(&src, NULL);
    return open_fetching(c, out, err);
}

static int open_imds(const rf_awscreds_opts *o, rf_awscreds **out, rf_err *err)
{
    rf_awscreds *c = provider_new(o, K_IMDS);
    c->endpoint = rf_xstrdup(o->imds_endpoint ? o->imds_endpoint : RF_IMDS_ENDPOINT);
    char *role = NULL;
    if (rf_aws_imds_fetch(c->endpoint, &c->http, &c->cur, &role, err) < 0) {
        provider_free(c);
        return -1;
    }
    rf_buf src = RF_BUF_INIT;
    rf_buf_addf(&src, "EC2 instance role %s (IMDSv2)", role);
    c->source = rf_buf_detach(&src, NULL);
    free(role);
    *out = c;
    return 0;
}

/* The two shared files of one profile. */
typedef struct profile {
    const char *name;
    char *cred_path, *conf_path;
    rf_awsini cred, conf;
    char *conf_section;        /* "default" or "profile NAME" */
    int in_cred, in_conf;
} profile;

static void profile_free(profile *p)
{
    free(p->cred_path);
    free(p->conf_path);
    free(p->conf_section);
    rf_awsini_free(&p->cred);
    rf_awsini_free(&p->conf);
}

/* The file set by a variable (a leading "~/" is HOME, as the SDKs read
 * it), else HOME/rel. */
static char *home_path(const char *set, const char *home, const char *rel)
{
    if (set && !strncmp(set, "~/", 2) && home) {
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%s/%s", home, set + 2);
        return rf_buf_detach(&b, NULL);
    }
    if (set)
        return rf_xstrdup(set);
    if (!home)
        return NULL;
    rf_buf b = RF_BUF_INIT;
    rf_buf_addf(&b, "%s/%s", home, rel);
    return rf_buf_detach(&b, NULL);
}

/* A file that does not exist is an empty one, as for the SDKs. */
static int load_optional(const char *path, rf_awsini *ini, rf_err *err)
{
    if (!path)
        return 0;
    rf_err e = {0};
    if (rf_awsini_load(path, ini, &e) == 0)
        return 0;
    if (e.code == RF_ENOTFOUND)
        return 0;
    *err = e;
    return -1;
}

static int profile_load(const rf_awscreds_opts *o, profile *p, rf_err *err)
{
    memset(p, 0, sizeof *p);
    p->name = o->profile ? o->profile : "default";
    p->cred_path = home_path(o->credentials_file, o->home, ".aws/credentials");
    p->conf_path = home_path(o->config_file, o->home, ".aws/config");
    if (load_optional(p->cred_path, &p->cred, err) < 0 ||
        load_optional(p->conf_path, &p->conf, err) < 0)
        return -1;
    rf_buf s = RF_BUF_INIT;
    rf_buf_addf(&s, "profile %s", p->name);
    p->conf_section = rf_buf_detach(&s, NULL);
    p->in_cred = rf_awsini_has_section(&p->cred, p->name);
    p->in_conf = rf_awsini_has_section(&p->conf, p->conf_section);
    if (!p->in_conf && !strcmp(p->name, "default") && rf_awsini_has_section(&p->conf, "default")) {
        free(p->conf_section);
        p->conf_section = rf_xstrdup("default");
        p->in_conf = 1;
    }
    return 0;
}

/* key from the credentials file, else the config file; *from = its file. */
static const char *profile_get(const profile *p, const char *key, const char **from)
{
    const char *v = p->in_cred ? rf_awsini_get(&p->cred, p->name, key) : NULL;
    if (v && *v) {
        if (from)
            *from = p->cred_path;
        return v;
    }
    v = p->in_conf ? rf_awsini_get(&p->conf, p->conf_section, key) : NULL;
    if (from)
        *from = p->conf_path;
    return v && *v ? v : NULL;
}

static int profile_unsupported(const profile *p, rf_err *err)
{
    static const char *const keys[] = {"credential_process", "source_profile",
                                       "credential_source", "sso_session", "sso_start_url",
                                       "login_session"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *from;
        if (profile_get(p, keys[i], &from))
            return rf_errf(err, RF_EUNSUPP,
                           "AWS profile %s (%s): %s is not supported; use static keys, "
                           "role_arn + web_identity_token_file, or the instance role "
                           "(docs/s3.md)", p->name, from, keys[i]);
    }
    return 0;
}

/* *used = 1 when the profile supplied credentials. */
static int open_profile(const rf_awscreds_opts *o, rf_awscreds **out, char **region,
                        int *used, rf_err *err)
{
    profile p;
    *used = 0;
    int rc = profile_load(o, &p, err);
    if (rc == 0 && !p.in_cred && !p.in_conf) {
        if (o->profile) /* named on purpose: a typo must not fall through */
            rc = rf_errf(err, RF_EAUTH, "AWS profile %s (AWS_PROFILE) is in neither %s nor %s",
                         p.name, p.cred_path ? p.cred_path : "(no credentials file)",
                         p.conf_path ? p.conf_path : "(no config file)");
        profile_free(&p);
        return rc;
    }
    const char *from_ak, *from_sk, *from;
    const char *ak = rc == 0 ? profile_get(&p, "aws_access_key_id", &from_ak) : NULL;
    const char *sk = rc == 0 ? profile_get(&p, "aws_secret_access_key", &from_sk) : NULL;
    if (rc == 0 && profile_get(&p, "region", NULL))
        *region = rf_xstrdup(profile_get(&p, "region", NULL));
    const char *role = rc == 0 ? profile_get(&p, "role_arn", &from) : NULL;
    const char *wif = role ? profile_get(&p, "web_identity_token_file", NULL) : NULL;
    if (rc < 0) {
        /* the parse error says FILE:LINE:COL */
    } else if (ak && sk) {
        rf_buf src = RF_BUF_INIT;
        rf_buf_addf(&src, "profile %s (%s)", p.name, from_ak);
        rc = open_static(o, ak, sk, profile_get(&p, "aws_session_token", NULL), src.data, out);
        rf_buf_free(&src);
        *used = 1;
    } else if (ak || sk) {
        rc = rf_errf(err, RF_EAUTH, "AWS profile %s (%s): %s without %s", p.name,
                     ak ? from_ak : from_sk, ak ? "aws_access_key_id" : "aws_secret_access_key",
                     ak ? "aws_secret_access_key" : "aws_access_key_id");
    } else if (role && wif) {
        rf_buf via = RF_BUF_INIT;
        rf_buf_addf(&via, " (profile %s, %s)", p.name, from);
        rc = open_web_identity(o, wif, role, profile_get(&p, "role_session_name", NULL),
                               via.data, out, err);
        rf_buf_free(&via);
        *used = 1;
    } else if ((rc = profile_unsupported(&p, err)) == 0 && role) {
        rc = rf_errf(err, RF_EUNSUPP, "AWS profile %s (%s): role_arn without "
                     "web_identity_token_file is not supported (docs/s3.md)", p.name, from);
    }
    profile_free(&p);
    return rc;
}

static int no_credentials(const rf_awscreds_opts *o, const rf_err *imds, rf_err *err)
{
    return rf_errf(err, RF_EAUTH,
                   "no AWS credentials: looked at AWS_ACCESS_KEY_ID/s3.access_key_id, "
                   "AWS_WEB_IDENTITY_TOKEN_FILE, profile %s in the shared files, and the EC2 "
                   "instance role (%.500s)", o->profile ? o->profile : "default",
                   imds ? imds->msg : "AWS_EC2_METADATA_DISABLED=true");
}

int rf_awscreds_open(const rf_awscreds_opts *o, rf_awscreds **out, rf_err *err)
{
    *out = NULL;
    const char *src = o->static_source ? o->static_source : "static keys";
    if (o->access_key && *o->access_key && o->secret_key && *o->secret_key)
        return open_static(o, o->access_key, o->secret_key, o->session_token, src, out);
    if ((o->access_key && *o->access_key) || (o->secret_key && *o->secret_key))
        return rf_errf(err, RF_EAUTH, "AWS credentials from %s: an access key id needs its "
                       "secret access key and the other way round", src);
    if (o->web_identity_token_file || o->role_arn) {
        if (!o->web_identity_token_file || !o->role_arn)
            return rf_errf(err, RF_EAUTH, "web identity: %s is set but %s is not",
                           o->role_arn ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                           o->role_arn ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN");
        return open_web_identity(o, o->web_identity_token_file, o->role_arn,
                                 o->role_session_name, " (AWS_WEB_IDENTITY_TOKEN_FILE)", out,
                                 err);
    }
    char *region = NULL;
    int used;
    if (open_profile(o, out, &region, &used, err) < 0) {
        free(region);
        return -1;
    }
    rf_err ierr = {0};
    if (!used && o->imds_disabled) {
        free(region);
        return no_credentials(o, NULL, err);
    }
    if (!used && open_imds(o, out, &ierr) < 0) {
        free(region);
        return no_credentials(o, &ierr, err);
    }
    (*out)->region = region;
    return 0;
}

/* --- use ------------------------------------------------------------------- */

/* Called with c->mu held. */
static int refresh_if_due(rf_awscreds *c, rf_err *err)
{
    int64_t now = clock_now(c);
    if (c->kind == K_STATIC || !c->cur.expires || now + c->margin_s < c->cur.expires)
        return 0;
    int expired = now >= c->cur.expires;
    if (!expired && now < c->next_try)
        return 0;
    rf_aws_keys fresh;
    rf_err e = {0};
    if (fetch(c, &fresh, &e) == 0) {
        rf_aws_keys_free(&c->cur);
        c->cur = fresh;
        c->refreshes++;
        c->next_try = 0;
        return 0;
    }
    c->next_try = now + RETRY_S;
    if (expired) {
        *err = e;
        return rf_err_prefix(err, "AWS credentials from %s expired and could not be "
                             "refreshed", c->source);
    }
    rf_log_warn(c->log, "AWS credentials from %s: refresh failed (%s); the current ones are "
                "valid for %llds more", c->source, e.msg, (long long)(c->cur.expires - now));
    return 0;
}

int rf_awscreds_get(rf_awscreds *c, rf_aws_keys *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->mu);
    int rc = refresh_if_due(c, err);
    if (rc == 0)
        rf_aws_keys_copy(out, &c->cur);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

const char *rf_awscreds_source(const rf_awscreds *c)
{
    return c->source;
}

const char *rf_awscreds_region(const rf_awscreds *c)
{
    return c->region;
}

int rf_awscreds_refreshes(rf_awscreds *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->refreshes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

rf_awscreds *rf_awscreds_ref(rf_awscreds *c)
{
    pthread_mutex_lock(&c->mu);
    c->refs++;
    pthread_mutex_unlock(&c->mu);
    return c;
}

void rf_awscreds_unref(rf_awscreds *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        provider_free(c);
}
