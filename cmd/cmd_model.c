/* cmd_model: `ruvflow model ls|promote|rollback`, the minimal model registry
 * (store/rf_modelreg.h) that train-stage `mode: incremental` promotes into.
 * The fuller registry of issue 12 is meant to replace what is behind it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "store/rf_modelreg.h"

static const char model_usage[] =
    "usage: ruvflow model ls --registry URL [--model NAME]\n"
    "       ruvflow model promote CHECKPOINT --registry URL [--model NAME] [--reason TEXT]\n"
    "       ruvflow model rollback --registry URL [--model NAME] [--reason TEXT]\n"
    "\n"
    "The versions of a model kept by online learning under URL/NAME (a store URL:\n"
    "file:///dir or s3://bucket/prefix; NAME defaults to \"model\"). ls prints the\n"
    "production history (current last) and the decision log; rollback makes the\n"
    "previous production version current again.\n"
    "\n"
    "Exit status (docs/ruvflow.1): 0 done, 1 nothing to roll back to, 2 usage,\n"
    "3 no such registry or version, 4-7 store errors.\n";

static int model_fail(const rf_err *e)
{
    fprintf(stderr, "ruvflow model: %s\n", e->msg);
    return rf_err_exit_status(e);  /* docs/ruvflow.1's one table */
}

static int model_ls(const rf_modelreg *m)
{
    int *h;
    size_t n;
    rf_err e;
    if (rf_modelreg_history(m, &h, &n, &e) != 0)
        return model_fail(&e);
    if (n == 0) {
        free(h);
        fprintf(stderr, "ruvflow model: no version of \"%s\" in production\n", m->prefix);
        return 3;
    }
    printf("production: version %d\nhistory:", h[n - 1]);
    for (size_t i = 0; i < n; i++)
        printf(" %d", h[i]);
    printf("\n");
    free(h);
    rf_buf log = RF_BUF_INIT;
    if (rf_modelreg_log(m, &log, &e) != 0)
        return model_fail(&e);
    printf("log (unix time, action, version, reason):\n");
    fwrite(log.data ? log.data : "", 1, log.len, stdout);
    rf_buf_free(&log);
    return 0;
}

int cmd_model_online(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL, *url = NULL, *name = "model", *reason = "";
    const char *ckpt = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--registry") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "--reason") && i + 1 < argc)
            reason = argv[++i];
        else if (argv[i][0] != '-' && !ckpt)
            ckpt = argv[i];
        else
            return fputs(model_usage, stderr), 2;
    }
    if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h")))
        return fputs(model_usage, stdout), 0;
    int is_promote = sub && !strcmp(sub, "promote");
    if (!sub || !url || (is_promote != (ckpt != NULL)) ||
        (strcmp(sub, "ls") && strcmp(sub, "rollback") && !is_promote))
        return fputs(model_usage, stderr), 2;
    rf_store *s;
    rf_err e;
    if (rf_store_open(url, NULL, &s, &e) != 0)
        return model_fail(&e);
    rf_modelreg m;
    rf_modelreg_init(&m, s, name);
    int v, rc = 0;
    if (!strcmp(sub, "ls"))
        rc = model_ls(&m);
    else if (is_promote && rf_modelreg_promote(&m, ckpt, reason, &v, &e) == 0)
        printf("version %d is in production\n", v);
    else if (!is_promote && rf_modelreg_rollback(&m, reason, &v, &e) == 0)
        printf("rolled back: version %d is in production\n", v);
    else
        rc = model_fail(&e);
    rf_store_close(s);
    return rc;
}
