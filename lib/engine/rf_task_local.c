/* rf_task_local: see rf_task_local.h. */
#include "engine/rf_task_local.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/rf_config.h"
#include "base/rf_fs.h"
#include "engine/rf_task_impl.h"

void rf_worker_usage(const rf_worker_def *def, FILE *f)
{
    fprintf(f,
            "usage: ruvflow-%s run [--with KEY=VALUE]... [--input NAME=PATH]... --out DIR\n"
            "       ruvflow-%s serve [--redis URL] [--store URL] [--pool NAME] [--concurrency N]\n"
            "       ruvflow-%s --version\n\n%s",
            def->name, def->name, def->name, def->help ? def->help : "");
}

static int split_kv(const char *arg, char **k, const char **v)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    *k = strndup(arg, (size_t)(eq - arg));
    *v = eq + 1;
    return *k ? 0 : -1;
}

/* Outputs are written below DIR/.partial and moved into DIR only when the
 * whole task succeeded: a failed run (bad input, disk full) leaves DIR as
 * it was, never half of a result. */
#define PARTIAL_DIR ".partial"

/* Move every entry of partial into out (replacing), then remove partial. */
static int publish(const char *partial, const char *out, rf_err *err)
{
    DIR *d = opendir(partial);
    if (!d)
        return rf_err_errno(err, "open %s", partial);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char from[PATH_MAX], to[PATH_MAX];
        if (rf_path_join(from, sizeof from, partial, e->d_name, err) != 0 ||
            rf_path_join(to, sizeof to, out, e->d_name, err) != 0) {
            rc = -1;
            break;
        }
        if (rename(from, to) == 0)
            continue;
        /* A folder of an earlier run's is in the way: replace it. */
        if ((errno == ENOTEMPTY || errno == EEXIST || errno == EISDIR) &&
            rf_rmtree(to, err) == 0 && rename(from, to) == 0)
            continue;
        rc = rf_err_errno(err, "move %s into %s", e->d_name, out);
    }
    closedir(d);
    if (rc == 0 && rmdir(partial) != 0)
        rc = rf_err_errno(err, "remove %s", partial);
    return rc;
}

/* The configuration's artifact cap (codec.max_artifact) applies to a
 * local run's inputs as to a served task's. */
static int check_inputs(rf_task *t, rf_err *err)
{
    rf_config cfg;
    if (rf_config_load(&cfg, NULL, err) != 0) {
        rf_config_free(&cfg);
        return -1;
    }
    uint64_t max = cfg.max_artifact;
    rf_config_free(&cfg);
    return rf_task_check_inputs(t, max, err);
}

int rf_task_run_local(int argc, char **argv, const rf_worker_def *def)
{
    const char *out = NULL;
    /* The outdir is known only after parsing; it is set below. */
    rf_task *t = rf_task_new(def, "local", 1, ".");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "--with") || !strcmp(a, "--input")) && val) {
            char *k;
            const char *v;
            if (split_kv(val, &k, &v) != 0) {
                fprintf(stderr, "ruvflow-%s: %s expects NAME=VALUE, got \"%s\"\n",
                        def->name, a, val);
                rf_task_free(t);
                return 2;
            }
            if (a[2] == 'w')
                rf_task_add_param(t, k, v);
            else
                rf_task_add_input(t, k, v);
            free(k);
            i++;
        } else if (!strcmp(a, "--out") && val) {
            out = val;
            i++;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            rf_worker_usage(def, stdout);
            rf_task_free(t);
            return 0;
        } else {
            fprintf(stderr, "ruvflow-%s: unknown or incomplete argument \"%s\"\n", def->name, a);
            rf_worker_usage(def, stderr);
            rf_task_free(t);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "ruvflow-%s: run needs --out DIR\n", def->name);
        rf_task_free(t);
        return 2;
    }
    rf_err err = {0};
    char partial[PATH_MAX], mpath[PATH_MAX];
    /* A leftover .partial is a killed run's: its outputs never counted. */
    if (rf_path_join(partial, sizeof partial, out, PARTIAL_DIR, &err) != 0 ||
        rf_path_join(mpath, sizeof mpath, partial, "metrics.json", &err) != 0 ||
        rf_mkdir_p(out, &err) != 0 || rf_rmtree(partial, &err) != 0 ||
        rf_mkdir_p(partial, &err) != 0) {
        fprintf(stderr, "ruvflow-%s: %s\n", def->name, err.msg);
        rf_task_free(t);
        return rf_err_exit_status(&err);
    }
    rf_task_set_outdir(t, partial);
    rf_task_set_local_dir(t, out);
    int rc = check_inputs(t, &err);
    if (rc == 0)
        rc = def->handler(t, &err);
    if (rc == 0 && rf_task_write_metrics_json(t, mpath, &err) != 0)
        rc = -1;
    if (rc == 0 && publish(partial, out, &err) != 0)
        rc = -1;
    if (rc != 0) {
        rf_err ignored = {0};
        rf_rmtree(partial, &ignored);   /* nothing of a failed run is left */
        fprintf(stderr, "ruvflow-%s: error: %s\n", def->name,
                err.msg[0] ? err.msg : "task failed");
        rf_task_free(t);
        return rf_err_exit_status(&err);
    }
    size_t plen = strlen(partial);
    for (size_t i = 0; i < rf_task_output_count(t); i++) {
        const char *p = rf_task_output_path(t, i);
        if (!strncmp(p, partial, plen) && p[plen] == '/')
            printf("%s\t%s%s\n", rf_task_output_name(t, i), out, p + plen);
        else
            printf("%s\t%s\n", rf_task_output_name(t, i), p);
    }
    rf_task_free(t);
    return 0;
}
