/* rf_queue_impl: private to rf_queue*.c. The queue handle, argument vectors
 * and the scripts the queue's files share. */
#ifndef RF_QUEUE_IMPL_H
#define RF_QUEUE_IMPL_H

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rf_queue.h"
#include "base/rf_buf.h"

#define LEASE_MIN_MS 100

struct rf_queue {
    rf_redis *r;
    char *prefix;
    char *events_key;
    long lease_ms;
    long retention_s;
    unsigned rand_state;  /* jitter for retry backoff */
};

/* Script arguments: strings that either point into the caller's data or
 * into `own` (numbers formatted here). */
typedef struct args {
    const char **v;
    size_t n, cap;
    char **own;
    size_t nown, owncap;
} args;

/* The Lua of the scripts, embedded from rf_queue_<name>.lua. */
extern const char rf_lua_queue_enqueue[];
extern const char rf_lua_queue_take[];
extern const char rf_lua_queue_heartbeat[];
extern const char rf_lua_queue_commit[];
extern const char rf_lua_queue_fail[];
extern const char rf_lua_queue_release[];
extern const char rf_lua_queue_reap[];
extern const char rf_lua_queue_cancel[];
extern const char rf_lua_queue_forget[];
extern const char rf_lua_queue_dlq_act[];
extern const char rf_lua_queue_dlq_list[];
extern const char rf_lua_queue_stats[];
extern const char rf_lua_queue_worker_beat[];
extern const char rf_lua_queue_workers[];
/* The scripts (rf_queue_lua.c). */
extern const rf_script rf_queue_lua_enqueue;
extern const rf_script rf_queue_lua_take;
extern const rf_script rf_queue_lua_heartbeat;
extern const rf_script rf_queue_lua_commit;
extern const rf_script rf_queue_lua_fail;
extern const rf_script rf_queue_lua_release;
extern const rf_script rf_queue_lua_reap;
extern const rf_script rf_queue_lua_cancel;
extern const rf_script rf_queue_lua_forget;
extern const rf_script rf_queue_lua_dlq_act;
extern const rf_script rf_queue_lua_dlq_list;
extern const rf_script rf_queue_lua_stats;
extern const rf_script rf_queue_lua_worker_beat;
extern const rf_script rf_queue_lua_workers;
void rf_queue_args_add(args *a, const char *s);
void rf_queue_args_addf(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rf_queue_args_addf(args *a, const char *fmt, ...);
void rf_queue_args_free(args *a);
int rf_queue_run(rf_queue *q, const rf_script *s, args *a, redisReply **rep, rf_err *err);
const char *rf_queue_el_str(const redisReply *e, char *tmp, size_t n);
int64_t rf_queue_el_int(const redisReply *e);
char *rf_queue_el_dup(const redisReply *e);
int rf_queue_want_array(const redisReply *rep, size_t n, size_t row, const char *what,
                      rf_err *err);
double rf_queue_jitter(rf_queue *q);

#endif
