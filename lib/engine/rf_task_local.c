/* rf_task_local: see rf_task_local.h. */
#include "engine/rf_task_local.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/rf_task_impl.h"

static int mkdir_p(const char *dir, rf_err *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return rf_err_errno(err, "mkdir %s", p);
            *s = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return rf_err_errno(err, "mkdir %s", p);
    return 0;
}

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
    if (mkdir_p(out, &err) != 0) {
        fprintf(stderr, "ruvflow-%s: %s\n", def->name, err.msg);
        rf_task_free(t);
        return 1;
    }
    rf_task_set_outdir(t, out);
    int rc = def->handler(t, &err);
    char mpath[PATH_MAX];
    snprintf(mpath, sizeof mpath, "%s/metrics.json", out);
    if (rc == 0 && rf_task_write_metrics_json(t, mpath, &err) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "ruvflow-%s: error: %s\n", def->name,
                err.msg[0] ? err.msg : "task failed");
        rf_task_free(t);
        return rf_err_exit_status(&err);
    }
    for (size_t i = 0; i < rf_task_output_count(t); i++)
        printf("%s\t%s\n", rf_task_output_name(t, i), rf_task_output_path(t, i));
    rf_task_free(t);
    return 0;
}
