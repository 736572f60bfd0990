/* cmd_config: `ruvflow config show`, the effective configuration with its
 * secrets redacted (docs/configuration.md), and `ruvflow config check-env`,
 * which the systemd units run before starting: an EnvironmentFile with an
 * unknown key or a bad value fails the unit with the key's name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_envfile.h"
#include "store/rf_s3.h"

static void usage(FILE *f)
{
    fputs("usage: ruvflow config show [--config FILE]\n"
          "       ruvflow config check-env FILE...\n\n"
          "show: print the effective configuration (defaults, config file, AWS_* and\n"
          "RUVFLOW_* environment), secrets redacted, and which source of the AWS\n"
          "credential chain S3 requests use. The output is itself a valid config\n"
          "file. See docs/configuration.md.\n"
          "check-env: check systemd EnvironmentFile(s): KEY=VALUE syntax, every key\n"
          "one ruvflow reads, every value valid. Errors name FILE:LINE:COL; exit 2.\n",
          f);
}

static int read_file(const char *path, rf_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rf_buf_add(b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

/* Values the config loader does not see: the units' own variables. */
static int check_unit_value(const char *path, const rf_env_entry *e)
{
    static const struct { const char *key; long lo, hi; } nums[] = {
        {"RUVFLOW_CONCURRENCY", 1, 1024}, {"RUVFLOW_GRACE_S", 0, 86400},
        {"RUVFLOW_RETRY_S", 0, 86400},    {"RUVFLOW_SCALE_MIN", 0, 1000000},
        {"RUVFLOW_SCALE_MAX", 1, 1000000},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(e->key, nums[i].key) != 0)
            continue;
        char *end;
        long v = strtol(e->value, &end, 10);
        if (!*e->value || *end || v < nums[i].lo || v > nums[i].hi) {
            fprintf(stderr, "ruvflow: config: %s:%d:1: %s=\"%s\": want an integer in %ld..%ld\n",
                    path, e->line, e->key, e->value, nums[i].lo, nums[i].hi);
            return -1;
        }
    }
    return 0;
}

static int check_entries(const char *path, const rf_env_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!rf_config_env_known(e[i].key)) {
            const char *hint = rf_config_env_suggest(e[i].key);
            fprintf(stderr, "ruvflow: config: %s:%d:1: unknown key %s%s%s%s\n", path,
                    e[i].line, e[i].key, hint ? " (did you mean " : "", hint ? hint : "",
                    hint ? "?)" : "");
            return -1;
        }
        if (check_unit_value(path, &e[i]) != 0)
            return -1;
        setenv(e[i].key, e[i].value, 1);
    }
    return 0;
}

/* Every file is checked in order, its values then loaded as the daemons
 * would load them (later files win, as with several EnvironmentFile=). */
static int check_env(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "ruvflow: config check-env: name at least one file\n");
        return 2;
    }
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        rf_buf b = {0};
        rf_err err = {0};
        rf_env_entry *e;
        size_t n;
        if (read_file(argv[i], &b) != 0) {
            fprintf(stderr, "ruvflow: config: %s: cannot read: %s\n", argv[i], strerror(errno));
            rf_buf_free(&b);
            return 2;
        }
        int rc = rf_envfile_parse(argv[i], (const char *)b.data, b.len, &e, &n, &err);
        rf_buf_free(&b);
        if (rc != 0) {
            fprintf(stderr, "ruvflow: config: %s\n", err.msg);
            return 2;
        }
        rc = check_entries(argv[i], e, n);
        rf_env_free(e, n);
        if (rc != 0)
            return 2;
        total += n;
    }
    rf_config cfg;
    rf_err err = {0};
    if (rf_config_load(&cfg, NULL, &err)) {
        fprintf(stderr, "ruvflow: config: %s (set by %s%s)\n", err.msg, argv[0],
                argc > 1 ? " or a later file" : "");
        return 2;
    }
    rf_config_free(&cfg);
    printf("ruvflow: config: %zu key%s in %d file%s ok\n", total, total == 1 ? "" : "s", argc,
           argc == 1 ? "" : "s");
    return 0;
}

static int uses_s3(const rf_config *c)
{
    if (c->store && !strncmp(c->store, "s3://", 5))
        return 1;
    for (int t = 0; t < RF_TIER_COUNT; t++)
        if (c->tiers[t].url && !strncmp(c->tiers[t].url, "s3://", 5))
            return 1;
    return 0;
}

/* Which source of the AWS credential chain signs S3 requests (never a
 * secret); resolved only when a store or tier is on S3, since resolving
 * may ask the EC2 metadata service. */
static void print_creds(const rf_config *c, FILE *f)
{
    if (!uses_s3(c)) {
        fputs("\n# s3 credentials: not used (no s3:// store or tier)\n", f);
        return;
    }
    rf_awscreds *cr;
    rf_err err = {0};
    if (rf_s3_open_creds(&c->s3, c, &cr, &err) < 0) {
        fprintf(f, "\n# s3 credentials: none: %s\n", err.msg);
        return;
    }
    fprintf(f, "\n# s3 credentials: %s\n", rf_awscreds_source(cr));
    if (rf_awscreds_region(cr) && !strcmp(rf_config_source(c, "s3.region"), "default"))
        fprintf(f, "# s3 region from the profile: %s\n", rf_awscreds_region(cr));
    rf_awscreds_unref(cr);
}

RF_CMD(config)
{
    const char *path = NULL;
    int show = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "check-env") && !show) {
            return check_env(argc - i - 1, argv + i + 1);
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "show") && !show) {
            show = 1;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!show) {
        usage(stderr);
        return 2;
    }
    rf_config cfg;
    rf_err err = {0};
    if (rf_config_load(&cfg, path, &err)) {
        fprintf(stderr, "ruvflow config: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    rf_config_print(&cfg, stdout);
    print_creds(&cfg, stdout);
    rf_config_free(&cfg);
    return 0;
}
