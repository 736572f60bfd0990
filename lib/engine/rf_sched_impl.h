/* rf_sched_impl: private to rf_sched*.c. The run handle, plans, and the
 * declarations the scheduler's files share. */
#ifndef RF_SCHED_IMPL_H
#define RF_SCHED_IMPL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/rf_sched.h"
#include "base/rf_buf.h"
#include "engine/rf_dag.h"
#include "engine/rf_template.h"
#include "base/rf_time.h"

#define BATCH 512              /* tasks per enqueue / finish pipeline */
#define LOCK_MS 30000          /* dispatch lease on a run */
#define PLAN_CACHE 32          /* runs whose plans a scheduler keeps parsed */

typedef struct plan {
    char *run;
    rf_workflow *wf;
    json_t *digests;
    size_t **dependents;      /* per step: steps that need it */
    size_t *ndependents;
    char ***dep_args;         /* per step: dependents as decimal strings */
    int no_cache;
    unsigned char *fan_ready; /* per step: foreach items loaded (rf_sched_fanout) */
    struct plan *next;
} plan;

struct rf_sched {
    rf_redis *r;
    rf_queue *q;
    const char *P;            /* key prefix, the queue's */
    rf_sched_opts o;
    char consumer[128];
    rf_log quiet;
    plan *plans;              /* parsed plans, most recent first */
    size_t nplans;
    int64_t last_claim_ms, last_sync_ms, last_trim_ms, last_reap_ms, last_retention_ms;
    int64_t last_cron_ms;
};

/* Finishes collected for one `run finish` script call: the argument strings live
 * in one buffer (NUL-separated) until the flush. */
typedef struct finisher {
    rf_sched *s;
    rf_buf args;
    size_t n;                 /* tasks */
} finisher;

#define FINISHER_INIT(s) {(s), RF_BUF_INIT, 0}

typedef struct event {
    char *id, *ev, *task, *run, *step;
    size_t idx;
} event;

/* The Lua of the scripts, embedded from rf_sched_<name>.lua. */
extern const char rf_lua_sched_submit[];
extern const char rf_lua_sched_finish[];
extern const char rf_lua_sched_spawn[];
extern const char rf_lua_sched_todo_done[];
extern const char rf_lua_sched_lock[];
extern const char rf_lua_sched_probe[];
extern const char rf_lua_sched_gather[];
extern const char rf_lua_sched_status[];
extern const char rf_lua_sched_cancel[];
extern const char rf_lua_sched_reopen[];
extern const char rf_lua_sched_cache_put[];
extern const char rf_lua_sched_trim[];
extern const char rf_lua_sched_evtrim[];
extern const char rf_lua_sched_records[];
extern const char rf_lua_sched_expand[];
extern const char rf_lua_sched_cron_fire[];
/* The scripts (rf_sched_lua.c; "run records" is rf_sched_events.c's). */
extern const rf_script rf_sched_lua_submit;
extern const rf_script rf_sched_lua_finish;
extern const rf_script rf_sched_lua_spawn;
extern const rf_script rf_sched_lua_todo_done;
extern const rf_script rf_sched_lua_lock;
extern const rf_script rf_sched_lua_probe;
extern const rf_script rf_sched_lua_gather;
extern const rf_script rf_sched_lua_status;
extern const rf_script rf_sched_lua_cancel;
extern const rf_script rf_sched_lua_reopen;
extern const rf_script rf_sched_lua_cache_put;
extern const rf_script rf_sched_lua_trim;
extern const rf_script rf_sched_lua_expand;
extern const rf_script rf_sched_lua_cron_fire;
extern const rf_script rf_sched_lua_evtrim;
int rf_sched_get_str(rf_sched *s, int argc, const char **argv, char **out, rf_err *err);
void rf_sched_key_of(rf_buf *b, const rf_sched *s, const char *run, const char *suffix);
long long rf_sched_reply_int(const redisReply *r);
plan *rf_sched_plan_get(rf_sched *s, const char *run, rf_err *err);
void rf_sched_plan_evict(rf_sched *s, const char *run);
int rf_sched_step_index(const plan *p, const char *name, size_t *i);
json_t *rf_sched_gather(rf_sched *s, const plan *p, size_t si, size_t from, size_t to,
                      rf_err *err);
int rf_sched_step_total(rf_sched *s, const char *run, size_t si, size_t *total,
                      rf_err *err);
int rf_sched_fin_bits(rf_sched *s, const char *run, size_t si, unsigned char **bits,
                    size_t *n, rf_err *err);
int rf_sched_bit_set(const unsigned char *bits, size_t n, size_t i);
void rf_sched_fin_add(finisher *f, const plan *p, size_t si, size_t idx, const char *kind,
                    const char *res, const char *error);
void rf_sched_fin_free(finisher *f);
int rf_sched_fin_flush(finisher *f, int *released, rf_err *err);
/* The same, with the call `pre` (may be NULL) sent first in the same round
 * trip (pipelined, so it runs first; its reply is freed here), and the
 * events acks[0..nacks) acknowledged by the finish script once it has done
 * everything else (a call that fails acknowledges nothing). */
int rf_sched_fin_flush_after(finisher *f, rf_redis_call *pre, char *const *acks, size_t nacks,
                             int *released, rf_err *err);
int rf_sched_run_state(rf_sched *s, const char *run, char **state, rf_err *err);
int rf_sched_dispatch_run(rf_sched *s, const char *run, rf_err *err);
void rf_sched_take_strings(redisReply *rep, char ***ids, size_t *n);
/* foreach over an earlier step's output: read the items once that step has
 * finished (rf_sched_fanout.c) and fix the step's tasks; later calls load
 * them into the plan. 0 also when the step failed here (bad list). */
int rf_sched_fanout(rf_sched *s, plan *p, size_t si, rf_err *err);
/* on_exit steps (rf_sched_exit.c): the run's `main` field (NULL while its
 * main steps run), the failed tasks as JSON for ${{ workflow.failures }},
 * and forgetting the exit steps' task records before they run again. */
int rf_sched_run_main(rf_sched *s, const char *run, char **main, rf_err *err);
int rf_sched_exit_failures(rf_sched *s, const plan *p, char **json, rf_err *err);
int rf_sched_exit_forget(rf_sched *s, const plan *p, rf_err *err);
/* Suspend steps (rf_sched_suspend.c): mark the step waiting for approval
 * (instead of enqueueing), and fail those past their timeout. */
int rf_sched_suspend_wait(rf_sched *s, const plan *p, size_t si, rf_err *err);
int rf_sched_suspend_expire(rf_sched *s, const char *run, rf_err *err);
int rf_sched_reopen(rf_sched *s, const char *run, const char *mode, redisReply **out,
                  rf_err *err);
/* rf_sched_delete.c: a run's task records and keys, whatever its state. */
int rf_sched_forget(rf_sched *s, const char *run, rf_err *err);

#endif
