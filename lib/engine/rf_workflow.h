/* rf_workflow: workflow files (YAML) parsed into a validated model.
 *
 * rf_workflow_load reads a file, applies `-p key=value` overrides, checks
 * everything that can be checked before a run exists (unknown keys, wrong
 * types, unknown workers, dangling references, cycles, malformed templates
 * and conditions), resolves parameters inside fan-out specifications, and
 * orders the steps so that every step comes after the steps it needs.
 * Problems are collected, not stopped at: each is one rf_wf_diag with the
 * line and column it refers to. The format is documented in
 * docs/workflow-format.md; the template language in rf_template.h.
 *
 * The model owns all its strings; rf_workflow_free releases it. */
#ifndef RF_WORKFLOW_H
#define RF_WORKFLOW_H

#include <stddef.h>
#include <stdio.h>

#include "base/rf_err.h"

enum rf_wf_type { RF_WF_STRING, RF_WF_INT, RF_WF_FLOAT, RF_WF_BOOL, RF_WF_LIST };
enum rf_wf_fan { RF_FAN_NONE, RF_FAN_FOREACH, RF_FAN_CHAIN };

/* Largest number of tasks one step may expand to (a hard ceiling). */
#define RF_WF_MAX_TASKS 10000000u
/* Default cap on the tasks of a whole workflow; raised per load with
 * rf_wf_diags.max_tasks (`ruvflow lint|submit --max-tasks N`). */
#define RF_WF_MAX_TASKS_DEFAULT 1000000u
/* Deepest nesting of YAML collections a workflow file may have. */
#define RF_WF_MAX_DEPTH 64
/* Most YAML nodes a file may stand for once its aliases are expanded. */
#define RF_WF_MAX_NODES 1000000u

typedef struct rf_wf_loc {
    int line, col;    /* 1-based; 0 when the problem has no place in the file */
} rf_wf_loc;

typedef struct rf_wf_kv {
    char *key, *val;
    rf_wf_loc loc;    /* of the value */
    const char *file; /* while loading: the included file it is in, NULL = the
                       * workflow file (a string of rf_workflow.files) */
} rf_wf_kv;

/* A place inside a structured value the parser lowered into text (the
 * `space` mapping of a `tune:` step): path "space.lr", "space.lr.when",
 * "objective.val_loss"; so later checks can point into it. */
typedef struct rf_wf_mark {
    char *path;
    rf_wf_loc loc;
} rf_wf_mark;

typedef struct rf_wf_param {
    char *name, *desc;
    int type;         /* enum rf_wf_type */
    char *value;      /* default or override, canonical text; lists: "a,b,c" */
    char **items;     /* lists only */
    size_t nitems;
    rf_wf_loc loc;
} rf_wf_param;

/* One dimension of a fan-out: a foreach list or range is one axis with an
 * empty key; a matrix has one axis per key. */
typedef struct rf_wf_axis {
    char *key;
    char **vals;
    size_t n;
} rf_wf_axis;

typedef struct rf_wf_retry {
    int count;        /* extra attempts after the first; default 2 */
    long base_ms;     /* first backoff; default 1000 */
    long cap_ms;      /* largest backoff; default 60000 */
    double jitter;    /* 0..1, fraction of the delay randomised; default 0.2 */
} rf_wf_retry;

typedef struct rf_wf_step {
    char *name, *desc, *worker;
    rf_wf_loc loc;
    rf_wf_kv *with;   size_t nwith;     /* templates */
    rf_wf_kv *inputs; size_t ninputs;   /* reference or store URL; names may repeat */
    size_t *needs;    size_t nneeds;    /* step indices: explicit and implied */
    int fan;                            /* enum rf_wf_fan */
    rf_wf_axis *axes; size_t naxes;
    size_t ntasks;                      /* tasks at submit time (1 without fan-out) */
    char *when;                         /* NULL = always */
    rf_wf_retry retry;
    long timeout_ms;                    /* 0 = none; default 3600000 */
    int priority;                       /* 0..9, higher runs first; default 5 */
    char *pool;                         /* default "default" */
    int tier;                           /* enum rf_tier_id; default hot */
    int cache;                          /* default 1 */
    size_t spawn_max;                   /* >0: tasks may add up to this many more */
    char *fan_from;                     /* foreach over an earlier step's output
                                         * ("steps.a.outputs.list"): its items are
                                         * known when that step finishes; else NULL */
    int suspend;                        /* 1: waits for `ruvflow approve` (no worker;
                                         * timeout_ms 0 = wait forever) */
    int on_exit;                        /* 1: an exit handler (top-level on_exit):
                                         * runs once the other steps are over */
    int from_tune;                      /* 1: the trials of a `tune:` step, 2: its summary */
    rf_wf_mark *marks; size_t nmarks;   /* places inside lowered `with` values */
} rf_wf_step;

typedef struct rf_workflow {
    char *file, *name, *desc;
    /* retention: {runs: N} keeps the N newest finished runs of this name,
     * {days: D} the finished runs created in the last D days; 0 = unset. */
    long keep_runs;
    double keep_days;
    rf_wf_param *params; size_t nparams;
    rf_wf_step *steps;   size_t nsteps;   /* dependency order */
    size_t max_tasks;                     /* the load's cap, also for late fan-outs */
    char **files;        size_t nfiles;   /* included files (templates), as named */
} rf_workflow;

typedef struct rf_wf_diag {
    rf_wf_loc loc;
    char *msg;        /* "what is wrong; how to fix it" */
    char *file;       /* an included file the problem is in; NULL = the workflow file */
} rf_wf_diag;

/* What a load reports, and the one limit the caller may set for it. */
typedef struct rf_wf_diags {
    rf_wf_diag *v;
    size_t n;
    size_t max_tasks;   /* tasks the whole workflow may have; 0 = default */
    const char *cur_file;   /* private to the loader: the file being read */
} rf_wf_diags;

/* Parse and validate. overrides are "key=value" strings (from -p). Returns
 * 0 and *out, or -1: with diags->n > 0 when the workflow is invalid (err
 * says how many problems, code RF_EINVAL), else err says why (I/O). */
int rf_workflow_load(const char *path, const char *const *overrides, size_t nov,
                     rf_workflow **out, rf_wf_diags *diags, rf_err *err);
/* The same on text in memory; file is only used in messages. */
int rf_workflow_parse(const char *text, size_t len, const char *file,
                      const char *const *overrides, size_t nov,
                      rf_workflow **out, rf_wf_diags *diags, rf_err *err);
void rf_workflow_free(rf_workflow *wf);

/* The place recorded for path in s (rf_wf_mark), or fallback. */
rf_wf_loc rf_wf_mark_loc(const rf_wf_step *s, const char *path, rf_wf_loc fallback);

/* "FILE:LINE:COL: message" lines, in file order (FILE: an included file's
 * name where the problem is in one). */
void rf_wf_diags_print(const rf_wf_diags *d, const char *file, FILE *f);
void rf_wf_diags_free(rf_wf_diags *d);

const rf_wf_step *rf_workflow_step(const rf_workflow *wf, const char *name,
                                   size_t *index);
const rf_wf_param *rf_workflow_param(const rf_workflow *wf, const char *name);

/* Value of fan-out axis a for task i of step s (matrix: first axis varies
 * slowest). Task indices past the static count belong to spawned tasks,
 * which have no item: returns NULL. */
const char *rf_wf_item(const rf_wf_step *s, size_t a, size_t i);

/* Workers a step may name, NULL-terminated. */
extern const char *const rf_wf_workers[];

#endif
