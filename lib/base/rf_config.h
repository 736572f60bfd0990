/* rf_config: ruvflow's effective configuration.
 *
 * Sources, later ones winning: built-in defaults, the local stack of
 * `ruvflow up` found by walking up from the current folder (rf_stackdir.h:
 * its recorded Redis URL and its store), the config file
 * (RUVFLOW_CONFIG, else ./ruvflow.conf, else ~/.config/ruvflow/ruvflow.conf;
 * INI-style "key = value" lines, see docs/configuration.md), the AWS
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION/AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL), then
 * RUVFLOW_* overrides (RUVFLOW_STORE, RUVFLOW_REDIS_URL, RUVFLOW_TIER_HOT,
 * ...). Strings are owned by the struct; rf_config_free releases them. */
#ifndef RF_CONFIG_H
#define RF_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/rf_err.h"

enum rf_tier_id { RF_TIER_HOT = 0, RF_TIER_WARM = 1, RF_TIER_COLD = 2, RF_TIER_COUNT };

typedef struct rf_tier_conf {
    char *url;            /* store URL of the tier, e.g. file:///x/hot, s3://b/warm */
    char *storage_class;  /* NULL = none sent (works on every server) */
} rf_tier_conf;

typedef struct rf_s3_conf {
    char *endpoint;       /* NULL = AWS (https://s3.<region>.amazonaws.com) */
    char *region;         /* default us-east-1 */
    char *access_key, *secret_key, *session_token;   /* secrets: never print */
    int path_style;       /* -1 auto (path-style for custom endpoints), 0, 1 */
    uint64_t part_size;   /* multipart part size, default 16 MiB */
    uint64_t multipart_threshold; /* default 64 MiB */
    int max_retries;      /* default 5 */
    long connect_timeout_ms, timeout_ms;  /* defaults 5000, 300000 */
    /* Where clients count their requests (store/rf_s3_stats.h): borrowed,
     * NULL = not counted. Set by a worker serving /metrics. */
    struct rf_s3_stats *stats;
} rf_s3_conf;

#define RF_CONFIG_MAXKEYS 32

typedef struct rf_config {
    char *path;           /* config file read, or NULL */
    char *stack;          /* folder holding the local stack's .ruvflow/, or NULL */
    char *stack_looked;   /* without a stack: the folders searched */
    char *source[RF_CONFIG_MAXKEYS];  /* per key, where its value came from;
                                         NULL = built-in default */
    char *store;          /* default store URL; default file://$PWD/.ruvflow/store */
    char *redis_url;      /* default redis://127.0.0.1:6379/0 */
    rf_tier_conf tiers[RF_TIER_COUNT];
    rf_s3_conf s3;
    int codec_level;      /* zstd level, default 3 */
    uint64_t max_artifact;  /* decode cap (workers check inputs), default 4 GiB */
    long lease_ms;        /* worker lease, default 5000 */
    long retention_s;     /* finished runs kept in Redis, default 7 days */
} rf_config;

/* Load defaults + file + environment. path NULL = search as above. */
int rf_config_load(rf_config *c, const char *path, rf_err *err);
void rf_config_free(rf_config *c);
const char *rf_tier_name(int tier);     /* "hot", "warm", "cold" */
int rf_tier_parse(const char *s);       /* -1 if unknown */
/* Where key's value came from: "default", "stack /x/.ruvflow/redis.url",
 * "file ruvflow.conf:3", "env AWS_REGION", "store (tier default)"; NULL
 * for an unknown key. */
const char *rf_config_source(const rf_config *c, const char *key);
/* Print the effective configuration, secrets redacted, each value that is
 * not a built-in default preceded by a comment saying where it came from.
 * The output is itself a valid config file. */
void rf_config_print(const rf_config *c, FILE *f);

/* Every environment variable ruvflow reads: the RUVFLOW_* of the key table,
 * the AWS_* it maps, and those of the CLI, scheduler and systemd units. */
int rf_config_env_known(const char *name);
/* The known name closest to name (a typo: edit distance <= 3), or NULL. */
const char *rf_config_env_suggest(const char *name);

#endif
