/* rf_config: loads ruvflow's effective configuration from defaults, an
 * INI-style file and the environment; see rf_config.h and
 * docs/configuration.md.
 *
 * Every setting is one row of the keys[] table: its file key, its RUVFLOW_*
 * variable, its type and where it lives in struct rf_config. Parsing,
 * validation and printing all walk that table, so a setting is added in one
 * place and cannot be documented under one name and read under another. */
#include "base/rf_config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_log.h"
#include "base/rf_stackdir.h"
#include "base/rf_str.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)

enum kind {
    K_STORE,     /* store URL: file:///abs, s3://bucket[/prefix]; "/abs" accepted */
    K_REDIS,     /* redis://, rediss://, unix:// */
    K_ENDPOINT,  /* http:// or https:// */
    K_STR,       /* free text, "" = unset */
    K_SECRET,    /* free text, never printed */
    K_CLASS,     /* S3 storage class or "" */
    /* kinds above hold a malloc'd char *, kinds below a number */
    K_AUTOBOOL,  /* auto | true | false -> -1, 1, 0 (int) */
    K_INT,       /* int in [min, max] */
    K_LONG,      /* long in [min, max] */
    K_SIZE,      /* uint64_t bytes, K/M/G/T suffixes (binary) */
};

typedef struct key_def {
    const char *name;    /* file key */
    const char *env;     /* RUVFLOW_* override */
    int kind;
    size_t off;          /* offsetof(rf_config, field) */
    long long min, max;  /* K_INT, K_LONG, K_SIZE */
} key_def;

#define O(f) offsetof(rf_config, f)
static const key_def keys[] = {
    {"store", "RUVFLOW_STORE", K_STORE, O(store), 0, 0},
    {"redis_url", "RUVFLOW_REDIS_URL", K_REDIS, O(redis_url), 0, 0},
    {"tier.hot.url", "RUVFLOW_TIER_HOT", K_STORE, O(tiers[RF_TIER_HOT].url), 0, 0},
    {"tier.hot.storage_class", "RUVFLOW_TIER_HOT_CLASS", K_CLASS,
     O(tiers[RF_TIER_HOT].storage_class), 0, 0},
    {"tier.warm.url", "RUVFLOW_TIER_WARM", K_STORE, O(tiers[RF_TIER_WARM].url), 0, 0},
    {"tier.warm.storage_class", "RUVFLOW_TIER_WARM_CLASS", K_CLASS,
     O(tiers[RF_TIER_WARM].storage_class), 0, 0},
    {"tier.cold.url", "RUVFLOW_TIER_COLD", K_STORE, O(tiers[RF_TIER_COLD].url), 0, 0},
    {"tier.cold.storage_class", "RUVFLOW_TIER_COLD_CLASS", K_CLASS,
     O(tiers[RF_TIER_COLD].storage_class), 0, 0},
    {"s3.endpoint", "RUVFLOW_S3_ENDPOINT", K_ENDPOINT, O(s3.endpoint), 0, 0},
    {"s3.region", "RUVFLOW_S3_REGION", K_STR, O(s3.region), 0, 0},
    {"s3.access_key_id", "RUVFLOW_S3_ACCESS_KEY_ID", K_SECRET, O(s3.access_key), 0, 0},
    {"s3.secret_access_key", "RUVFLOW_S3_SECRET_ACCESS_KEY", K_SECRET, O(s3.secret_key), 0,
     0},
    {"s3.session_token", "RUVFLOW_S3_SESSION_TOKEN", K_SECRET, O(s3.session_token), 0, 0},
    {"s3.path_style", "RUVFLOW_S3_PATH_STYLE", K_AUTOBOOL, O(s3.path_style), 0, 0},
    /* S3's own limits: parts of 5 MiB to 5 GiB. */
    {"s3.part_size", "RUVFLOW_S3_PART_SIZE", K_SIZE, O(s3.part_size), 5 * MiB, 5 * GiB},
    {"s3.multipart_threshold", "RUVFLOW_S3_MULTIPART_THRESHOLD", K_SIZE,
     O(s3.multipart_threshold), 5 * MiB, 5 * GiB},
    {"s3.max_retries", "RUVFLOW_S3_MAX_RETRIES", K_INT, O(s3.max_retries), 0, 100},
    {"s3.connect_timeout_ms", "RUVFLOW_S3_CONNECT_TIMEOUT_MS", K_LONG,
     O(s3.connect_timeout_ms), 1, 3600000},
    {"s3.timeout_ms", "RUVFLOW_S3_TIMEOUT_MS", K_LONG, O(s3.timeout_ms), 1, 86400000},
    /* zstd's range, negative levels included. */
    {"codec.level", "RUVFLOW_CODEC_LEVEL", K_INT, O(codec_level), -7, 22},
    {"codec.max_artifact", "RUVFLOW_MAX_ARTIFACT", K_SIZE, O(max_artifact), 1, 1024 * TiB},
    {"worker.lease_ms", "RUVFLOW_LEASE_MS", K_LONG, O(lease_ms), 100, 86400000},
    {"runs.retention_s", "RUVFLOW_RETENTION_S", K_LONG, O(retention_s), 60,
     10LL * 366 * 86400},
};
#undef O
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= RF_CONFIG_MAXKEYS, "raise RF_CONFIG_MAXKEYS");

static const char *const storage_classes[] = {
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE",
};

const char *rf_tier_name(int tier)
{
    static const char *names[] = {"hot", "warm", "cold"};
    return tier >= 0 && tier < RF_TIER_COUNT ? names[tier] : "?";
}

int rf_tier_parse(const char *s)
{
    for (int t = 0; s && t < RF_TIER_COUNT; t++)
        if (!strcmp(s, rf_tier_name(t)))
            return t;
    return -1;
}

static char **str_at(rf_config *c, const key_def *k) { return (char **)((char *)c + k->off); }

static void set_str(rf_config *c, const key_def *k, const char *v)
{
    char **p = str_at(c, k);
    free(*p);
    *p = v && *v ? rf_xstrdup(v) : NULL;
}

/* ---- value parsers: 0, or -1 with a reason in why ---- */

static int parse_ll(const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return -1;
    *out = x;
    return 0;
}

static int parse_size(const char *v, unsigned long long *out)
{
    char *end;
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno)
        return -1;
    static const struct { const char *suf; unsigned long long mul; } units[] = {
        {"", 1}, {"B", 1}, {"K", 1ull << 10}, {"KB", 1ull << 10}, {"KiB", 1ull << 10},
        {"M", MiB}, {"MB", MiB}, {"MiB", MiB}, {"G", GiB}, {"GB", GiB}, {"GiB", GiB},
        {"T", TiB}, {"TB", TiB}, {"TiB", TiB},
    };
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].suf)) {
            if (x > ULLONG_MAX / units[i].mul)
                return -1;
            *out = x * units[i].mul;
            return 0;
        }
    return -1;
}

static int valid_store_url(const char *v, rf_buf *why)
{
    if (!strncmp(v, "file://", 7)) {
        if (v[7] != '/') {
            rf_buf_adds(why, "file URLs need an absolute path (file:///dir)");
            return -1;
        }
        return 0;
    }
    if (!strncmp(v, "s3://", 5)) {
        if (v[5] == '\0' || v[5] == '/') {
            rf_buf_adds(why, "missing bucket name (s3://bucket/prefix)");
            return -1;
        }
        return 0;
    }
    rf_buf_adds(why, "expected file:///abs/dir, /abs/dir or s3://bucket/prefix");
    return -1;
}

/* Parse v for key k into c. On failure, why says what is wrong. */
static int set_value(rf_config *c, const key_def *k, const char *v, rf_buf *why)
{
    void *field = (char *)c + k->off;
    switch (k->kind) {
    case K_STORE: {
        if (!*v) {
            set_str(c, k, NULL);
            return 0;
        }
        rf_buf u = RF_BUF_INIT;
        if (v[0] == '/')   /* a bare absolute path means a file:// store */
            rf_buf_addf(&u, "file://%s", v);
        else
            rf_buf_adds(&u, v);
        int rc = valid_store_url(u.data, why);
        if (rc == 0) {
            /* Trailing slashes would double up when keys are appended. */
            while (u.len > 8 && u.data[u.len - 1] == '/' && u.data[u.len - 2] != '/')
                u.data[--u.len] = '\0';
            set_str(c, k, u.data);
        }
        rf_buf_free(&u);
        return rc;
    }
    case K_REDIS:
        if (*v && strncmp(v, "redis://", 8) && strncmp(v, "rediss://", 9) &&
            strncmp(v, "unix://", 7)) {
            rf_buf_adds(why, "expected redis://host:port/db, rediss://... or unix:///path");
            return -1;
        }
        set_str(c, k, v);
        return 0;
    case K_ENDPOINT:
        if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
            rf_buf_adds(why, "expected http://host:port or https://host");
            return -1;
        }
        set_str(c, k, v);
        return 0;
    case K_STR:
    case K_SECRET:
        set_str(c, k, v);
        return 0;
    case K_CLASS:
        if (!*v || !strcasecmp(v, "none")) {
            set_str(c, k, NULL);
            return 0;
        }
        for (size_t i = 0; i < sizeof storage_classes / sizeof storage_classes[0]; i++)
            if (!strcmp(v, storage_classes[i])) {
                set_str(c, k, v);
                return 0;
            }
        rf_buf_adds(why, "unknown storage class (expected none");
        for (size_t i = 0; i < sizeof storage_classes / sizeof storage_classes[0]; i++)
            rf_buf_addf(why, ", %s", storage_classes[i]);
        rf_buf_adds(why, ")");
        return -1;
    case K_AUTOBOOL:
        if (!strcasecmp(v, "auto"))
            *(int *)field = -1;
        else if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
            *(int *)field = 1;
        else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0"))
            *(int *)field = 0;
        else {
            rf_buf_adds(why, "expected auto, true or false");
            return -1;
        }
        return 0;
    case K_INT:
    case K_LONG: {
        long long x;
        if (parse_ll(v, &x) || x < k->min || x > k->max) {
            rf_buf_addf(why, "expected an integer from %lld to %lld", k->min, k->max);
            return -1;
        }
        if (k->kind == K_INT)
            *(int *)field = (int)x;
        else
            *(long *)field = (long)x;
        return 0;
    }
    case K_SIZE: {
        unsigned long long x;
        if (parse_size(v, &x) || x < (unsigned long long)k->min ||
            x > (unsigned long long)k->max) {
            rf_buf_addf(why, "expected a size from %lld to %lld bytes (K, M, G, T suffixes)",
                        k->min, k->max);
            return -1;
        }
        *(uint64_t *)field = x;
        return 0;
    }
    }
    return -1;
}

/* Remember where key k's value came from (fmt as printf). */
static void set_source(rf_config *c, const key_def *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_source(rf_config *c, const key_def *k, const char *fmt, ...)
{
    size_t i = (size_t)(k - keys);
    free(c->source[i]);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&c->source[i], fmt, ap) < 0)
        c->source[i] = NULL;
    va_end(ap);
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

/* ---- sources ---- */

static void set_defaults(rf_config *c)
{
    memset(c, 0, sizeof *c);
    /* Without a working directory there is no default store; the check
     * after all sources are read reports it unless one was configured. */
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) {
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "file://%s/.ruvflow/store", cwd);
        c->store = rf_buf_detach(&b, NULL);
    }
    c->redis_url = rf_xstrdup("redis://127.0.0.1:6379/0");
    c->s3.region = rf_xstrdup("us-east-1");
    c->s3.path_style = -1;
    c->s3.part_size = 16 * MiB;
    c->s3.multipart_threshold = 64 * MiB;
    c->s3.max_retries = 5;
    c->s3.connect_timeout_ms = 5000;
    c->s3.timeout_ms = 300000;
    c->codec_level = 3;
    c->max_artifact = 4 * GiB;   /* 6 workers x 4 GiB fits a small machine */
    c->lease_ms = 5000;
    c->retention_s = 7L * 86400;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int load_file(rf_config *c, const char *path, rf_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return rf_err_errno(err, "config %s", path);
    char *line = NULL;
    size_t cap = 0;
    char section[128] = "";
    int lineno = 0, rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1] != '\0' || end - s - 1 >= (long)sizeof section) {
                rc = rf_errf(err, RF_EINVAL, "%s:%d: malformed section header", path, lineno);
                break;
            }
            *end = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = rf_errf(err, RF_EINVAL, "%s:%d: expected \"key = value\"", path, lineno);
            break;
        }
        *eq = '\0';
        char *name = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        char full[256];
        snprintf(full, sizeof full, "%s%s%s", section, *section ? "." : "", name);
        const key_def *k = find_key(full);
        if (!k) {
            rc = rf_errf(err, RF_EINVAL, "%s:%d: unknown key \"%s\" (see docs/configuration.md)",
                         path, lineno, full);
            break;
        }
        rf_buf why = RF_BUF_INIT;
        if (set_value(c, k, val, &why))
            rc = rf_errf(err, RF_EINVAL, "%s:%d: %s: %s", path, lineno, full, why.data);
        else
            set_source(c, k, "file %s:%d", path, lineno);
        rf_buf_free(&why);
    }
    free(line);
    if (rc == 0 && ferror(f))
        rc = rf_err_errno(err, "config %s: read", path);
    fclose(f);
    return rc;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int set_from_env(rf_config *c, const key_def *k, const char *var, const char *v,
                        rf_err *err)
{
    rf_buf why = RF_BUF_INIT;
    int rc = 0;
    if (set_value(c, k, v, &why))
        rc = rf_errf(err, RF_EINVAL, "environment %s: %s", var, why.data);
    else
        set_source(c, k, "env %s", var);
    rf_buf_free(&why);
    return rc;
}

/* Variables read outside the key table: by the CLI, the worker runtime,
 * the scheduler and the systemd units (infra/systemd). */
static const char *const other_env[] = {
    "RUVFLOW_CONFIG", "RUVFLOW_REDIS_PREFIX", "RUVFLOW_LOG", "RUVFLOW_LOG_FORMAT",
    "RUVFLOW_METRICS_ADDR", "RUVFLOW_WORKER_METRICS_ADDR", "RUVFLOW_RETRY_S", "RUVFLOW_SCALE_SLOTS", "RUVFLOW_SCALE_MIN",
    "RUVFLOW_SCALE_MAX", "RUVFLOW_POOL", "RUVFLOW_CONCURRENCY", "RUVFLOW_GRACE_S",
    "RUVFLOW_WORKER_ARGS", "RUVFLOW_TEST_COMMIT_LOG", "TMPDIR", "OPENBLAS_NUM_THREADS",
    /* the AWS credential chain (store/rf_awscreds.h) */
    "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
};

static const struct { const char *var, *key; } aws_env[] = {
    {"AWS_ACCESS_KEY_ID", "s3.access_key_id"},
    {"AWS_SECRET_ACCESS_KEY", "s3.secret_access_key"},
    {"AWS_SESSION_TOKEN", "s3.session_token"},
    {"AWS_DEFAULT_REGION", "s3.region"},
    {"AWS_REGION", "s3.region"},
    {"AWS_ENDPOINT_URL", "s3.endpoint"},
    {"AWS_ENDPOINT_URL_S3", "s3.endpoint"},
};
#define NAWS (sizeof aws_env / sizeof aws_env[0])
#define NOTHER (sizeof other_env / sizeof other_env[0])

/* The i-th known variable name, NULL past the end. */
static const char *env_name_at(size_t i)
{
    if (i < NKEYS)
        return keys[i].env;
    if ((i -= NKEYS) < NAWS)
        return aws_env[i].var;
    if ((i -= NAWS) < NOTHER)
        return other_env[i];
    return NULL;
}

int rf_config_env_known(const char *name)
{
    for (size_t i = 0; env_name_at(i); i++)
        if (env_name_at(i) && !strcmp(env_name_at(i), name))
            return 1;
    return 0;
}

const char *rf_config_env_suggest(const char *name)
{
    const char *best = NULL;
    size_t bd = 4;
    for (size_t i = 0; env_name_at(i); i++) {
        size_t d = rf_edit_distance(name, env_name_at(i));
        if (d < bd)
            bd = d, best = env_name_at(i);
    }
    return best;
}

/* The AWS SDKs' variables; the S3-specific endpoint and AWS_REGION win. */
static int load_aws_env(rf_config *c, rf_err *err)
{
    for (size_t i = 0; i < NAWS; i++) {
        const char *v = env(aws_env[i].var);
        if (v && set_from_env(c, find_key(aws_env[i].key), aws_env[i].var, v, err))
            return -1;
    }
    return 0;
}

static int load_ruvflow_env(rf_config *c, rf_err *err)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v = env(keys[i].env);
        if (v && set_from_env(c, &keys[i], keys[i].env, v, err))
            return -1;
    }
    return 0;
}

static int file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* The file to read: explicit path, $RUVFLOW_CONFIG (both must exist), else
 * the first existing of ./ruvflow.conf and the per-user file. */
static char *find_config(const char *path)
{
    if (path)
        return rf_xstrdup(path);
    if (env("RUVFLOW_CONFIG"))
        return rf_xstrdup(env("RUVFLOW_CONFIG"));
    if (file_exists("ruvflow.conf"))
        return rf_xstrdup("ruvflow.conf");
    rf_buf b = RF_BUF_INIT;
    if (env("XDG_CONFIG_HOME"))
        rf_buf_addf(&b, "%s/ruvflow/ruvflow.conf", env("XDG_CONFIG_HOME"));
    else if (env("HOME"))
        rf_buf_addf(&b, "%s/.config/ruvflow/ruvflow.conf", env("HOME"));
    if (b.len && file_exists(b.data))
        return rf_buf_detach(&b, NULL);
    rf_buf_free(&b);
    return NULL;
}

/* Tiers left unset become three prefixes of the final store. */
static void default_tiers(rf_config *c)
{
    for (int t = 0; t < RF_TIER_COUNT; t++) {
        if (c->tiers[t].url)
            continue;
        rf_buf b = RF_BUF_INIT;
        size_t n = strlen(c->store);
        int slash = c->store[n - 1] == '/';
        rf_buf_addf(&b, "%s%s%s", c->store, slash ? "" : "/", rf_tier_name(t));
        c->tiers[t].url = rf_buf_detach(&b, NULL);
        char name[32];
        snprintf(name, sizeof name, "tier.%s.url", rf_tier_name(t));
        set_source(c, find_key(name), "store + /%s (tier default)", rf_tier_name(t));
    }
}

/* The local stack, when one is found above the current folder: its
 * recorded Redis and its store replace the built-in defaults. */
static void load_stack(rf_config *c)
{
    rf_stackdir sd;
    rf_stackdir_find(NULL, &sd);
    c->stack = sd.root;
    c->stack_looked = sd.looked;
    if (!sd.root)
        return;
    char *url = rf_stackdir_redis_url(&sd), *file = rf_stackdir_path(&sd, "redis.url");
    rf_buf why = RF_BUF_INIT;
    if (url && set_value(c, find_key("redis_url"), url, &why) == 0)
        set_source(c, find_key("redis_url"), "stack %s", file);
    free(url);
    free(file);
    rf_buf_reset(&why);
    char *store = rf_stackdir_path(&sd, "store");
    if (set_value(c, find_key("store"), store, &why) == 0)
        set_source(c, find_key("store"), "stack %s", store);
    free(store);
    rf_buf_free(&why);
}

int rf_config_load(rf_config *c, const char *path, rf_err *err)
{
    set_defaults(c);
    load_stack(c);
    c->path = find_config(path);
    if ((c->path && load_file(c, c->path, err)) || load_aws_env(c, err) ||
        load_ruvflow_env(c, err)) {
        rf_config_free(c);
        return -1;
    }
    if (!c->store) {
        rf_config_free(c);
        return rf_errf(err, RF_EINVAL,
                       "config: no store: set store in the config file or RUVFLOW_STORE");
    }
    if (!c->redis_url)
        c->redis_url = rf_xstrdup("redis://127.0.0.1:6379/0");
    if (!c->s3.region)
        c->s3.region = rf_xstrdup("us-east-1");
    default_tiers(c);
    return 0;
}

void rf_config_free(rf_config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->stack);
    free(c->stack_looked);
    for (size_t i = 0; i < NKEYS; i++)
        free(c->source[i]);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind <= K_CLASS)   /* the string kinds come first */
            free(*str_at(c, &keys[i]));
    memset(c, 0, sizeof *c);
}

/* ---- printing ---- */

/* An access key id identifies, it does not authenticate: show its ends so
 * that a user can tell which key is in use. */
static void mask_access_key(char *dst, size_t n, const char *v)
{
    size_t l = strlen(v);
    if (l < 12)
        snprintf(dst, n, "***");
    else
        snprintf(dst, n, "%.4s***%s", v, v + l - 4);
}

static void print_value(const rf_config *c, const key_def *k, FILE *f)
{
    const void *field = (const char *)c + k->off;
    char buf[1024];
    const char *s;
    switch (k->kind) {
    case K_SECRET:
        s = *(char *const *)field;
        if (!s)
            buf[0] = '\0';
        else if (k->off == offsetof(rf_config, s3.access_key))
            mask_access_key(buf, sizeof buf, s);
        else
            snprintf(buf, sizeof buf, "***");
        fputs(buf, f);
        break;
    case K_STORE:
    case K_REDIS:
    case K_ENDPOINT:
    case K_STR:
    case K_CLASS:
        s = *(char *const *)field;
        rf_redact(buf, sizeof buf, s ? s : "");
        fputs(buf, f);
        break;
    case K_AUTOBOOL: {
        int v = *(const int *)field;
        fputs(v < 0 ? "auto" : v ? "true" : "false", f);
        break;
    }
    case K_INT:
        fprintf(f, "%d", *(const int *)field);
        break;
    case K_LONG:
        fprintf(f, "%ld", *(const long *)field);
        break;
    case K_SIZE:
        fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    }
}

const char *rf_config_source(const rf_config *c, const char *key)
{
    const key_def *k = find_key(key);
    if (!k)
        return NULL;
    const char *s = c->source[k - keys];
    return s ? s : "default";
}

void rf_config_print(const rf_config *c, FILE *f)
{
    fprintf(f, "# ruvflow effective configuration (config file: %s)\n",
            c->path ? c->path : "none");
    if (c->stack)
        fprintf(f, "# local stack: %s/" RF_STACK_DIR "\n", strcmp(c->stack, "/") ? c->stack : "");
    else
        fprintf(f, "# local stack: none (looked for " RF_STACK_DIR "/ in %s)\n",
                c->stack_looked ? c->stack_looked : "no folder");
    fputs("# secrets are redacted; an empty value means unset; a value without a\n"
          "# \"from\" comment is the built-in default\n", f);
    char section[128] = "";
    for (size_t i = 0; i < NKEYS; i++) {
        const char *name = keys[i].name, *dot = strrchr(name, '.');
        size_t sl = dot ? (size_t)(dot - name) : 0;
        if (strlen(section) != sl || strncmp(section, name, sl)) {
            snprintf(section, sizeof section, "%.*s", (int)sl, name);
            fprintf(f, "\n[%s]\n", section);
        }
        if (c->source[i])
            fprintf(f, "# from %s\n", c->source[i]);
        fprintf(f, "%s = ", dot ? dot + 1 : name);
        print_value(c, &keys[i], f);
        fputc('\n', f);
    }
}
