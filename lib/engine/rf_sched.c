/* rf_sched: run state on Redis and the scheduler's event loop. See
 * rf_sched.h for the model and docs/redis-schema.md ("Runs") for the keys.
 * Every state transition is a Lua script below; C code renders tasks,
 * computes cache keys and talks to rf_queue. */
#include "engine/rf_sched.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "engine/rf_dag.h"
#include "engine/rf_template.h"
#include "base/rf_time.h"

#define BATCH 512              /* tasks per enqueue / finish pipeline */
#define LOCK_MS 30000          /* dispatch lease on a run */
#define PLAN_CACHE 32          /* runs whose plans a scheduler keeps parsed */

/* ------------------------------------------------------------ Lua scripts */

#define LUA_NOW \
    "local function now() local t = redis.call('TIME') " \
    "return t[1] * 1000 + math.floor(t[2] / 1000) end\n"

/* ARGV: P, run, name, file, plan, nocache, ntasks, nsteps, then per step
 * (total, needs). Roots go to todo; a scheduler is woken by an event. */
static const rf_script lua_submit = {"run submit", LUA_NOW
    "local P, R = ARGV[1], ARGV[2]\n"
    "local run = P .. 'run:' .. R\n"
    "if redis.call('EXISTS', run) == 1 then return 0 end\n"
    "local t, nsteps = now(), tonumber(ARGV[8])\n"
    "redis.call('HSET', run, 'name', ARGV[3], 'file', ARGV[4], 'state', 'running',\n"
    "  'created', t, 'finished', 0, 'nocache', ARGV[6], 'tasks', ARGV[7],\n"
    "  'nsteps', nsteps, 'left', nsteps, 'done', 0, 'cache', 0, 'skip', 0,\n"
    "  'failed', 0, 'error', '')\n"
    "redis.call('SET', run .. ':plan', ARGV[5])\n"
    "for i = 0, nsteps - 1 do\n"
    "  local total, needs = ARGV[9 + 2 * i], tonumber(ARGV[10 + 2 * i])\n"
    "  redis.call('HSET', run .. ':steps', 't.' .. i, total, 'n.' .. i, total,\n"
    "    'w.' .. i, needs, 'f.' .. i, 0, 'x.' .. i, 0, 'd.' .. i, 0, 'c.' .. i, 0,\n"
    "    'k.' .. i, 0)\n"
    "  if needs == 0 then redis.call('HINCRBY', run .. ':todo', i, 1) end\n"
    "end\n"
    "redis.call('ZADD', P .. 'runs', t, R)\n"
    "redis.call('SADD', P .. 'runs:active', R)\n"
    "redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',\n"
    "  'run', R)\n"
    "return 1\n"};

/* ARGV: P, then per task: run, step, idx, kind (done|cache|skip|fail),
 * result JSON, chain (0|1), error text, number of dependents, dependents...
 * Idempotent: a task finishes once (its bit in the step's bitmap). Returns
 * the number of tasks whose finishing released a step or a chain link. */
static const rf_script lua_finish = {"run finish", LUA_NOW
    "local P, i, released = ARGV[1], 2, 0\n"
    "local function finish(R, s, idx, kind, res, chain, why, deps)\n"
    "  local run = P .. 'run:' .. R\n"
    "  local state = redis.call('HGET', run, 'state')\n"
    "  if not state then return 0 end\n"
    "  local steps, key = run .. ':steps', s .. '/' .. idx\n"
    "  if redis.call('GETBIT', run .. ':fin:' .. s, idx) == 1 then return 0 end\n"
    "  if kind == 'fail' then\n"
    "    if redis.call('HSETNX', run .. ':res', key, res) == 0 then return 0 end\n"
    "    redis.call('HINCRBY', steps, 'x.' .. s, 1)\n"
    "    redis.call('HINCRBY', run, 'failed', 1)\n"
    "    if state == 'running' then\n"
    "      redis.call('HSET', run, 'state', 'failed', 'finished', now(), 'error', why)\n"
    "      redis.call('SREM', P .. 'runs:active', R)\n"
    "    end\n"
    "    return 0\n"
    "  end\n"
    "  redis.call('SETBIT', run .. ':fin:' .. s, idx, 1)\n"
    "  if kind ~= 'done' then redis.call('HSET', run .. ':res', key, res) end\n"
    "  local short = ({done = 'd', cache = 'c', skip = 'k'})[kind]\n"
    "  redis.call('HINCRBY', run, kind, 1)\n"
    "  redis.call('HINCRBY', steps, short .. '.' .. s, 1)\n"
    "  local fin = redis.call('HINCRBY', steps, 'f.' .. s, 1)\n"
    "  local total = tonumber(redis.call('HGET', steps, 't.' .. s))\n"
    "  if fin >= total then\n"
    "    for _, d in ipairs(deps) do\n"
    "      if redis.call('HINCRBY', steps, 'w.' .. d, -1) == 0 then\n"
    "        redis.call('HINCRBY', run .. ':todo', d, 1)\n"
    "      end\n"
    "    end\n"
    "    if redis.call('HINCRBY', run, 'left', -1) == 0 and state == 'running' then\n"
    "      redis.call('HSET', run, 'state', 'succeeded', 'finished', now())\n"
    "      redis.call('SREM', P .. 'runs:active', R)\n"
    "    end\n"
    "    return #deps > 0 and 1 or 0\n"
    "  elseif chain == '1' then\n"
    "    redis.call('HINCRBY', run .. ':todo', s, 1)\n"
    "    return 1\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "while i <= #ARGV do\n"
    "  local nd = tonumber(ARGV[i + 7])\n"
    "  local deps = {}\n"
    "  for k = 1, nd do deps[k] = ARGV[i + 7 + k] end\n"
    "  released = released + finish(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]),\n"
    "    ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], deps)\n"
    "  i = i + 8 + nd\n"
    "end\n"
    "return released\n"};

/* ARGV: P, run, step, idx, k, max. A task asks for k more tasks in its
 * step; once per task, within the step's budget. Returns tasks added. */
static const rf_script lua_spawn = {"run spawn",
    "local P, R, s, idx, k, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4],\n"
    "  tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local run = P .. 'run:' .. R\n"
    "if not redis.call('HGET', run, 'state') then return 0 end\n"
    "if redis.call('HSETNX', run .. ':spawned', s .. '/' .. idx, k) == 0 then return 0 end\n"
    "local steps = run .. ':steps'\n"
    "local total = tonumber(redis.call('HGET', steps, 't.' .. s))\n"
    "local base = tonumber(redis.call('HGET', steps, 'n.' .. s))\n"
    "k = math.min(k, max - (total - base))\n"
    "if k <= 0 then return 0 end\n"
    "redis.call('HINCRBY', steps, 't.' .. s, k)\n"
    "redis.call('HINCRBY', run, 'tasks', k)\n"
    "redis.call('HINCRBY', run .. ':todo', s, 1)\n"
    "return k\n"};

/* ARGV: P, run, step, seen. Drop the todo entry unless re-released since. */
static const rf_script lua_todo_done = {"run todo",
    "local k = ARGV[1] .. 'run:' .. ARGV[2] .. ':todo'\n"
    "if redis.call('HGET', k, ARGV[3]) == ARGV[4] then redis.call('HDEL', k, ARGV[3]) end\n"
    "return 0\n"};

/* KEYS: lock. ARGV: owner, ms (0 = release). */
static const rf_script lua_lock = {"run lock",
    "local v = redis.call('GET', KEYS[1])\n"
    "if tonumber(ARGV[2]) == 0 then\n"
    "  if v == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "  return 1\n"
    "end\n"
    "if v and v ~= ARGV[1] then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n"};

/* ARGV: P, run, step index, step name, from, to. Per task: {"r", result
 * JSON} (not run on a worker), {"d", out, met} (committed), or {""}. */
static const rf_script lua_gather = {"run gather",
    "local P, R, s, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local run = P .. 'run:' .. R\n"
    "local out = {}\n"
    "for i = tonumber(ARGV[5]), tonumber(ARGV[6]) - 1 do\n"
    "  local r = redis.call('HGET', run .. ':res', s .. '/' .. i)\n"
    "  if r then\n"
    "    out[#out + 1] = 'r'; out[#out + 1] = r; out[#out + 1] = ''\n"
    "  else\n"
    "    local t = redis.call('HMGET', P .. 't:' .. R .. '/' .. name .. '/' .. i,\n"
    "      'st', 'out', 'met')\n"
    "    if t[1] == 'done' then\n"
    "      out[#out + 1] = 'd'; out[#out + 1] = t[2] or '{}'; out[#out + 1] = t[3] or '{}'\n"
    "    else\n"
    "      out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: P, run, then step names in plan order. Per step 13 numbers: total,
 * finished, failed, done, cached, skipped, waiting-needs, then unfinished
 * tasks by record state: leased, ready, delayed, dead, none, other. */
static const rf_script lua_status = {"run status",
    "local P, R = ARGV[1], ARGV[2]\n"
    "local run = P .. 'run:' .. R\n"
    "local steps = run .. ':steps'\n"
    "local out = {}\n"
    "for i = 0, #ARGV - 3 do\n"
    "  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'x.' .. i, 'd.' .. i,\n"
    "    'c.' .. i, 'k.' .. i, 'w.' .. i)\n"
    "  for j = 1, 7 do out[#out + 1] = tonumber(v[j]) or 0 end\n"
    "  local c = {leased = 0, ready = 0, delayed = 0, dead = 0, none = 0, other = 0}\n"
    "  local total, fin = tonumber(v[1]) or 0, tonumber(v[2]) or 0\n"
    "  if fin < total and (tonumber(v[7]) or 0) == 0 and total <= 200000 then\n"
    "    local bits = run .. ':fin:' .. i\n"
    "    for idx = 0, total - 1 do\n"
    "      if redis.call('GETBIT', bits, idx) == 0 then\n"
    "        local st = redis.call('HGET', P .. 't:' .. R .. '/' .. ARGV[3 + i] .. '/' .. idx, 'st')\n"
    "        if not st then st = 'none' elseif c[st] == nil then st = 'other' end\n"
    "        c[st] = c[st] + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for _, k in ipairs({'leased', 'ready', 'delayed', 'dead', 'none', 'other'}) do\n"
    "    out[#out + 1] = c[k]\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: P, run. Cancel: a finished run cannot be cancelled. */
static const rf_script lua_cancel = {"run cancel", LUA_NOW
    "local run = ARGV[1] .. 'run:' .. ARGV[2]\n"
    "local st = redis.call('HGET', run, 'state')\n"
    "if not st then return -1 end\n"
    "if st == 'succeeded' or st == 'cancelled' then return 0 end\n"
    "redis.call('HSET', run, 'state', 'cancelled', 'finished', now())\n"
    "redis.call('SREM', ARGV[1] .. 'runs:active', ARGV[2])\n"
    "redis.call('DEL', run .. ':todo')\n"
    "return 1\n"};

/* ARGV: P, run, mode (retry | resume | sync). Puts the run back to running
 * (except sync), forgets failures (retry), and re-derives todo: every step
 * whose needs are met and that has unfinished tasks. Returns {state before,
 * failed task keys "STEP/IDX"...}. */
static const rf_script lua_reopen = {"run reopen",
    "local P, R, mode = ARGV[1], ARGV[2], ARGV[3]\n"
    "local run = P .. 'run:' .. R\n"
    "local st = redis.call('HGET', run, 'state')\n"
    "if not st then return {''} end\n"
    "local out = {st}\n"
    "if mode == 'sync' and st ~= 'running' then return out end\n"
    "if mode == 'retry' then\n"
    "  if st ~= 'failed' then return out end\n"
    "  local res = redis.call('HGETALL', run .. ':res')\n"
    "  for i = 1, #res, 2 do\n"
    "    if string.find(res[i + 1], '\"h\":\"fail\"', 1, true) then\n"
    "      redis.call('HDEL', run .. ':res', res[i])\n"
    "      out[#out + 1] = res[i]\n"
    "    end\n"
    "  end\n"
    "elseif mode == 'resume' and st == 'succeeded' then\n"
    "  return out\n"
    "end\n"
    "local steps = run .. ':steps'\n"
    "local n = tonumber(redis.call('HGET', run, 'nsteps'))\n"
    "for i = 0, n - 1 do\n"
    "  if mode == 'retry' then redis.call('HSET', steps, 'x.' .. i, 0) end\n"
    "  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'w.' .. i, 'x.' .. i)\n"
    "  if tonumber(v[3]) == 0 and tonumber(v[2]) < tonumber(v[1]) then\n"
    "    redis.call('HINCRBY', run .. ':todo', i, 1)\n"
    "  end\n"
    "end\n"
    "if mode ~= 'sync' and tonumber(redis.call('HGET', run, 'left')) == 0 then\n"
    "  redis.call('HSET', run, 'state', 'succeeded', 'error', '')\n"
    "  redis.call('SREM', P .. 'runs:active', R)\n"
    "elseif mode ~= 'sync' then\n"
    "  redis.call('HSET', run, 'state', 'running', 'finished', 0, 'error', '')\n"
    "  if mode == 'retry' then redis.call('HSET', run, 'failed', 0) end\n"
    "  redis.call('SADD', P .. 'runs:active', R)\n"
    "  redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',\n"
    "    'run', R)\n"
    "end\n"
    "return out\n"};

/* ARGV: P, ms, then key/value pairs: cache entries with a time to live. */
static const rf_script lua_cache_put = {"cache put",
    "for i = 3, #ARGV, 2 do\n"
    "  redis.call('SET', ARGV[1] .. 'cache:' .. ARGV[i], ARGV[i + 1], 'PX', ARGV[2])\n"
    "end\n"
    "return 0\n"};

/* ARGV: P, run, step names... Delete a run's keys (retention). */
static const rf_script lua_trim = {"run trim",
    "local P, R = ARGV[1], ARGV[2]\n"
    "local run = P .. 'run:' .. R\n"
    "for i = 0, #ARGV - 3 do redis.call('DEL', run .. ':fin:' .. i) end\n"
    "redis.call('DEL', run, run .. ':plan', run .. ':steps', run .. ':res',\n"
    "  run .. ':todo', run .. ':spawned', run .. ':lock', run .. ':log',\n"
    "  run .. ':progress')\n"
    "redis.call('ZREM', P .. 'runs', R)\n"
    "redis.call('SREM', P .. 'runs:active', R)\n"
    "return 0\n"};

/* ------------------------------------------------------------ the handle */

typedef struct plan {
    char *run;
    rf_workflow *wf;
    json_t *digests;
    size_t **dependents;      /* per step: steps that need it */
    size_t *ndependents;
    char ***dep_args;         /* per step: dependents as decimal strings */
    int no_cache;
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
    int64_t last_claim_ms, last_sync_ms, last_trim_ms, last_reap_ms;
};

void rf_sched_opts_default(rf_sched_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retention_s = 7 * 24 * 3600;
    o->claim_idle_ms = 10000;
}

int rf_sched_open(rf_redis *r, rf_queue *q, const rf_sched_opts *o, rf_sched **out,
                  rf_err *err)
{
    rf_sched *s = rf_xcalloc(1, sizeof *s);
    s->r = r;
    s->q = q;
    s->P = rf_queue_prefix(q);
    if (o)
        s->o = *o;
    else
        rf_sched_opts_default(&s->o);
    if (!s->o.claim_idle_ms)
        s->o.claim_idle_ms = 10000;
    s->quiet.level = -1;
    if (!s->o.log)
        s->o.log = &s->quiet;
    if (s->o.consumer)
        snprintf(s->consumer, sizeof s->consumer, "%s", s->o.consumer);
    else {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(s->consumer, sizeof s->consumer, "%s:%ld", host, (long)getpid());
    }
    *out = s;
    (void)err;
    return 0;
}

static void plan_free(plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->wf && i < p->wf->nsteps; i++) {
        free(p->dependents[i]);
        for (size_t k = 0; k < p->ndependents[i]; k++)
            free(p->dep_args[i][k]);
        free(p->dep_args[i]);
    }
    free(p->dependents);
    free(p->ndependents);
    free(p->dep_args);
    rf_workflow_free(p->wf);
    json_decref(p->digests);
    free(p->run);
    free(p);
}

void rf_sched_close(rf_sched *s)
{
    if (!s)
        return;
    while (s->plans) {
        plan *n = s->plans->next;
        plan_free(s->plans);
        s->plans = n;
    }
    free(s);
}

/* ------------------------------------------------------------ small redis */

/* Run argv, expect a string or nil reply: *out malloc'd or NULL. */
static int get_str(rf_sched *s, int argc, const char **argv, char **out, rf_err *err)
{
    redisReply *rep;
    *out = NULL;
    if (rf_redis_cmdv(s->r, argc, argv, NULL, &rep, err) < 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING)
        *out = rf_xstrdup(rep->str);
    freeReplyObject(rep);
    return 0;
}

static void key_of(rf_buf *b, const rf_sched *s, const char *run, const char *suffix)
{
    rf_buf_reset(b);
    rf_buf_addf(b, "%srun:%s%s", s->P, run, suffix);
}

static long long reply_int(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

/* -------------------------------------------------------------- plans */

static plan *plan_build(const char *run, rf_workflow *wf, json_t *digests, int no_cache)
{
    plan *p = rf_xcalloc(1, sizeof *p);
    p->run = rf_xstrdup(run);
    p->wf = wf;
    p->digests = digests;
    p->no_cache = no_cache;
    size_t n = wf->nsteps;
    p->dependents = rf_xcalloc(n + 1, sizeof *p->dependents);
    p->ndependents = rf_xcalloc(n + 1, sizeof *p->ndependents);
    p->dep_args = rf_xcalloc(n + 1, sizeof *p->dep_args);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < wf->steps[i].nneeds; k++) {
            size_t d = wf->steps[i].needs[k];
            p->dependents[d] = rf_xrealloc(p->dependents[d],
                                           (p->ndependents[d] + 1) * sizeof(size_t));
            p->dependents[d][p->ndependents[d]++] = i;
        }
    for (size_t i = 0; i < n; i++) {
        p->dep_args[i] = rf_xcalloc(p->ndependents[i] + 1, sizeof(char *));
        for (size_t k = 0; k < p->ndependents[i]; k++) {
            char tmp[24];
            snprintf(tmp, sizeof tmp, "%zu", p->dependents[i][k]);
            p->dep_args[i][k] = rf_xstrdup(tmp);
        }
    }
    return p;
}

/* The parsed plan of a run: from the cache, else from Redis. NULL with
 * RF_ENOTFOUND when the run does not exist (trimmed, or never was). */
static plan *plan_get(rf_sched *s, const char *run, rf_err *err)
{
    plan **pp = &s->plans;
    for (plan *p = s->plans; p; pp = &p->next, p = p->next)
        if (!strcmp(p->run, run)) {
            *pp = p->next;          /* move to front */
            p->next = s->plans;
            s->plans = p;
            return p;
        }
    rf_buf k = RF_BUF_INIT;
    key_of(&k, s, run, ":plan");
    char *text, *nocache;
    const char *a1[] = {"GET", k.data};
    int rc = get_str(s, 2, a1, &text, err);
    key_of(&k, s, run, "");
    const char *a2[] = {"HGET", k.data, "nocache"};
    if (rc == 0)
        rc = get_str(s, 3, a2, &nocache, err);
    rf_buf_free(&k);
    if (rc < 0)
        return NULL;
    if (!text) {
        free(nocache);
        rf_errf(err, RF_ENOTFOUND, "no run \"%s\"", run);
        return NULL;
    }
    rf_workflow *wf;
    json_t *dig;
    rc = rf_dag_plan_load(text, &wf, &dig, err);
    free(text);
    int nc = nocache && !strcmp(nocache, "1");
    free(nocache);
    if (rc < 0) {
        rf_err_prefix(err, "run %s", run);
        return NULL;
    }
    plan *p = plan_build(run, wf, dig, nc);
    p->next = s->plans;
    s->plans = p;
    if (++s->nplans > PLAN_CACHE) {
        plan *q = s->plans;
        while (q->next && q->next->next)
            q = q->next;
        plan_free(q->next);
        q->next = NULL;
        s->nplans--;
    }
    return p;
}

/* Forget a run's parsed plan (the run was trimmed). */
static void plan_evict(rf_sched *s, const char *run)
{
    for (plan **pp = &s->plans; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->run, run)) {
            plan *p = *pp;
            *pp = p->next;
            plan_free(p);
            s->nplans--;
            return;
        }
}

static int step_index(const plan *p, const char *name, size_t *i)
{
    return rf_workflow_step(p->wf, name, i) ? 0 : -1;
}

/* ------------------------------------------------------------- submit */

static void random_hex(char *out, size_t nbytes)
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, b, nbytes) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)nbytes) {
        uint64_t x = (uint64_t)rf_mono_ms() * 6364136223846793005ull ^ (uint64_t)getpid();
        memcpy(b, &x, nbytes > 8 ? 8 : nbytes);
    }
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* Digests of external inputs (store URLs and paths given in the file). */
static int external_digests(const rf_workflow *wf, json_t *dig, rf_err *err)
{
    for (size_t i = 0; i < wf->nsteps; i++)
        for (size_t k = 0; k < wf->steps[i].ninputs; k++) {
            const char *v = wf->steps[i].inputs[k].val;
            rf_ref r;
            rf_err e;
            if (rf_tpl_single_ref(v, &r, &e) != 0 || json_object_get(dig, v))
                continue;   /* another step's output: content-addressed */
            char hex[RF_SHA256_HEX];
            if (rf_dag_input_digest(v, hex, err) < 0)
                return rf_err_prefix(err, "step %s: inputs.%s", wf->steps[i].name,
                                     wf->steps[i].inputs[k].key);
            json_object_set_new(dig, v, json_string(hex));
        }
    return 0;
}

int rf_sched_submit(rf_sched *s, const rf_workflow *wf, const rf_submit_opts *o,
                    char **run_id, rf_err *err)
{
    rf_submit_opts none = {0};
    if (!o)
        o = &none;
    *run_id = NULL;
    rf_buf id = RF_BUF_INIT;
    if (o->run_id) {
        rf_buf_adds(&id, o->run_id);
    } else {
        char rnd[9];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        random_hex(rnd, 4);
        rf_buf_addf(&id, "%s-%02d%02d%02d-%02d%02d%02d-%s", wf->name, tm.tm_year % 100,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd);
    }
    if (rf_queue_id_valid(id.data, err) < 0 || strchr(id.data, '/')) {
        rf_buf_free(&id);
        return rf_errf(err, RF_EINVAL, "run id: use letters, digits, '.', '_' and '-'");
    }
    json_t *dig = json_object();
    if (external_digests(wf, dig, err) < 0) {
        json_decref(dig);
        rf_buf_free(&id);
        return -1;
    }
    char *plan_text = rf_dag_plan_json(wf, dig);
    json_decref(dig);

    size_t ntasks = 0;
    for (size_t i = 0; i < wf->nsteps; i++)
        ntasks += wf->steps[i].ntasks;
    size_t argc = 8 + 2 * wf->nsteps;
    const char **argv = rf_xcalloc(argc, sizeof *argv);
    char **nums = rf_xcalloc(2 * wf->nsteps + 2, sizeof *nums);
    rf_buf tmp = RF_BUF_INIT;
    rf_buf_addf(&tmp, "%zu", ntasks);
    nums[0] = rf_buf_detach(&tmp, NULL);
    rf_buf_addf(&tmp, "%zu", wf->nsteps);
    nums[1] = rf_buf_detach(&tmp, NULL);
    argv[0] = s->P, argv[1] = id.data, argv[2] = wf->name, argv[3] = wf->file;
    argv[4] = plan_text, argv[5] = o->no_cache ? "1" : "0";
    argv[6] = nums[0], argv[7] = nums[1];
    for (size_t i = 0; i < wf->nsteps; i++) {
        rf_buf_addf(&tmp, "%zu", wf->steps[i].ntasks);
        nums[2 + 2 * i] = rf_buf_detach(&tmp, NULL);
        rf_buf_addf(&tmp, "%zu", wf->steps[i].nneeds);
        nums[3 + 2 * i] = rf_buf_detach(&tmp, NULL);
        argv[8 + 2 * i] = nums[2 + 2 * i];
        argv[9 + 2 * i] = nums[3 + 2 * i];
    }
    redisReply *rep = NULL;
    int rc = rf_redis_eval(s->r, &lua_submit, 0, (int)argc, argv, NULL, &rep, err);
    if (rc == 0 && reply_int(rep) != 1)
        rc = rf_errf(err, RF_ECONFLICT, "run \"%s\" already exists", id.data);
    if (rep)
        freeReplyObject(rep);
    for (size_t i = 0; i < 2 * wf->nsteps + 2; i++)
        free(nums[i]);
    free(nums);
    free(argv);
    free(plan_text);
    if (rc < 0) {
        rf_buf_free(&id);
        return rf_err_prefix(err, "submit");
    }
    *run_id = rf_buf_detach(&id, NULL);
    return 0;
}

/* ------------------------------------------------------------ results */

/* Results of tasks [from, to) of step si as a JSON array (null while
 * unfinished). */
static json_t *gather(rf_sched *s, const plan *p, size_t si, size_t from, size_t to,
                      rf_err *err)
{
    json_t *arr = json_array();
    char sidx[24], a[24], b[24];
    snprintf(sidx, sizeof sidx, "%zu", si);
    for (size_t lo = from; lo < to; lo += 10000) {
        size_t hi = to - lo > 10000 ? lo + 10000 : to;
        snprintf(a, sizeof a, "%zu", lo);
        snprintf(b, sizeof b, "%zu", hi);
        const char *argv[] = {s->P, p->run, sidx, p->wf->steps[si].name, a, b};
        redisReply *rep;
        if (rf_redis_eval(s->r, &lua_gather, 0, 6, argv, NULL, &rep, err) < 0) {
            json_decref(arr);
            return NULL;
        }
        for (size_t i = 0; i + 2 < rep->elements; i += 3) {
            const char *kind = rep->element[i]->str ? rep->element[i]->str : "";
            json_t *r = json_null();
            if (kind[0] == 'r') {
                r = json_loads(rep->element[i + 1]->str, 0, NULL);
            } else if (kind[0] == 'd') {
                json_t *o = json_loads(rep->element[i + 1]->str, 0, NULL);
                json_t *m = json_loads(rep->element[i + 2]->str, 0, NULL);
                r = json_pack("{s:o,s:o,s:s}", "o", o ? o : json_object(), "m",
                              m ? m : json_object(), "h", "done");
            }
            json_array_append_new(arr, r ? r : json_null());
        }
        freeReplyObject(rep);
    }
    return arr;
}

static int step_total(rf_sched *s, const char *run, size_t si, size_t *total,
                      rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char f[32];
    key_of(&k, s, run, ":steps");
    snprintf(f, sizeof f, "t.%zu", si);
    const char *argv[] = {"HGET", k.data, f};
    char *v;
    int rc = get_str(s, 3, argv, &v, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    *total = v ? (size_t)strtoull(v, NULL, 10) : 0;
    free(v);
    return 0;
}

/* The finished bitmap of a step (bit i of byte i/8, most significant first,
 * as SETBIT writes it). *bits malloc'd; *n its length in bytes. */
static int fin_bits(rf_sched *s, const char *run, size_t si, unsigned char **bits,
                    size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    key_of(&k, s, run, "");
    rf_buf_addf(&k, ":fin:%zu", si);
    const char *argv[] = {"GET", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    *n = rep->type == REDIS_REPLY_STRING ? rep->len : 0;
    *bits = rf_xmalloc(*n + 1);
    if (*n)
        memcpy(*bits, rep->str, *n);
    freeReplyObject(rep);
    return 0;
}

static int bit_set(const unsigned char *bits, size_t n, size_t i)
{
    return i / 8 < n && (bits[i / 8] >> (7 - i % 8)) & 1;
}

/* ------------------------------------------------------------- finishing */

/* Finishes collected for one lua_finish call: the argument strings live
 * in one buffer (NUL-separated) until the flush. */
typedef struct finisher {
    rf_sched *s;
    rf_buf args;
    size_t n;                 /* tasks */
} finisher;

#define FINISHER_INIT(s) {(s), RF_BUF_INIT, 0}

static void fin_arg(rf_buf *b, const char *v)
{
    rf_buf_add(b, v, strlen(v) + 1);
}

static void fin_add(finisher *f, const plan *p, size_t si, size_t idx, const char *kind,
                    const char *res, const char *error)
{
    char tmp[24];
    fin_arg(&f->args, p->run);
    snprintf(tmp, sizeof tmp, "%zu", si);
    fin_arg(&f->args, tmp);
    snprintf(tmp, sizeof tmp, "%zu", idx);
    fin_arg(&f->args, tmp);
    fin_arg(&f->args, kind);
    fin_arg(&f->args, res ? res : "");
    fin_arg(&f->args, p->wf->steps[si].fan == RF_FAN_CHAIN ? "1" : "0");
    fin_arg(&f->args, error ? error : "");
    snprintf(tmp, sizeof tmp, "%zu", p->ndependents[si]);
    fin_arg(&f->args, tmp);
    for (size_t k = 0; k < p->ndependents[si]; k++)
        fin_arg(&f->args, p->dep_args[si][k]);
    f->n++;
}

static void fin_free(finisher *f)
{
    rf_buf_free(&f->args);
    f->n = 0;
}

/* One script call for every pending finish. *released (may be NULL) is set
 * when some step was released or a chain advanced. */
static int fin_flush(finisher *f, int *released, rf_err *err)
{
    if (!f->n)
        return 0;
    size_t argc = 1;
    for (size_t i = 0; i < f->args.len; i++)
        argc += f->args.data[i] == 0;
    const char **argv = rf_xcalloc(argc + 1, sizeof *argv);
    argv[0] = f->s->P;
    size_t k = 1;
    for (const char *c = f->args.data; c < f->args.data + f->args.len; c += strlen(c) + 1)
        argv[k++] = c;
    redisReply *rep;
    int rc = rf_redis_eval(f->s->r, &lua_finish, 0, (int)argc, argv, NULL, &rep, err);
    free(argv);
    if (rc == 0) {
        if (released && reply_int(rep) > 0)
            *released = 1;
        freeReplyObject(rep);
    }
    rf_buf_reset(&f->args);
    f->n = 0;
    return rc;
}

/* ------------------------------------------------------------- dispatch */

static int lock_run(rf_sched *s, const char *run, long ms, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    key_of(&k, s, run, ":lock");
    char msbuf[24];
    snprintf(msbuf, sizeof msbuf, "%ld", ms);
    const char *argv[] = {k.data, s->consumer, msbuf};
    redisReply *rep;
    int rc = rf_redis_eval(s->r, &lua_lock, 1, 3, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    rc = (int)reply_int(rep);
    freeReplyObject(rep);
    return rc;
}

static const char *tier_name(int t)
{
    static const char *const n[] = {"hot", "warm", "cold"};
    return t >= 0 && t < 3 ? n[t] : "hot";
}

/* One task being prepared for dispatch. */
typedef struct prep {
    size_t idx;
    char *params, *inputs;
    char key[RF_SHA256_HEX];
    rf_buf id;
} prep;

static void preps_free(prep *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].params);
        free(v[i].inputs);
        rf_buf_free(&v[i].id);
    }
}

/* Cache lookups for a batch: hits finish as "cache", the rest enqueue. */
static int dispatch_batch(rf_sched *s, const plan *p, size_t si, prep *v, size_t n,
                          finisher *f, rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    unsigned char *hit = rf_xcalloc(n + 1, 1);
    if (st->cache && !p->no_cache && n) {
        const char **argv = rf_xcalloc(n + 1, sizeof *argv);
        rf_buf *keys = rf_xcalloc(n, sizeof *keys);
        argv[0] = "MGET";
        for (size_t i = 0; i < n; i++) {
            rf_buf_addf(&keys[i], "%scache:%s", s->P, v[i].key);
            argv[i + 1] = keys[i].data;
        }
        redisReply *rep;
        int rc = rf_redis_cmdv(s->r, (int)n + 1, argv, NULL, &rep, err);
        for (size_t i = 0; i < n; i++)
            rf_buf_free(&keys[i]);
        free(keys);
        free(argv);
        if (rc < 0) {
            free(hit);
            return -1;
        }
        for (size_t i = 0; i < n && i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING) {
                hit[i] = 1;
                fin_add(f, p, si, v[i].idx, "cache", rep->element[i]->str, NULL);
            }
        freeReplyObject(rep);
    }
    rf_task_spec *specs = rf_xcalloc(n + 1, sizeof *specs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (hit[i])
            continue;
        rf_task_spec *t = &specs[k++];
        t->id = v[i].id.data;
        t->run = p->run;
        t->step = st->name;
        t->index = (long)v[i].idx;
        t->type = st->worker;
        t->pool = st->pool;
        t->priority = st->priority * 100;
        t->params = v[i].params;
        t->inputs = v[i].inputs;
        t->tier = tier_name(st->tier);
        t->timeout_ms = st->timeout_ms;
        t->max_attempts = st->retry.count + 1;
        t->backoff_ms = st->retry.base_ms;
        t->backoff_max_ms = st->retry.cap_ms;
        t->jitter = st->retry.jitter;
    }
    int rc = k ? rf_queue_enqueue(s->q, specs, k, NULL, err) : 0;
    free(specs);
    free(hit);
    return rc;
}

/* Results a step's tasks may refer to: gathered once per dispatch. */
static int gather_refs(rf_sched *s, const plan *p, size_t si, json_t **results,
                       rf_err *err)
{
    unsigned char *refs = rf_xcalloc(p->wf->nsteps + 1, 1);
    rf_dag_step_refs(p->wf, si, refs);
    int rc = 0;
    for (size_t d = 0; d < p->wf->nsteps && rc == 0; d++) {
        if (!refs[d])
            continue;
        size_t total;
        rc = step_total(s, p->run, d, &total, err);
        if (rc == 0 && !(results[d] = gather(s, p, d, 0, total, err)))
            rc = -1;
    }
    free(refs);
    return rc;
}

/* Prepare one task: its condition, parameters, inputs and cache key.
 * Returns 1 to dispatch, 0 when finished here (skipped or failed). */
static int prepare(rf_sched *s, const plan *p, const rf_dag_ctx *ctx, size_t si,
                   size_t idx, prep *out, finisher *f)
{
    const rf_wf_step *st = &p->wf->steps[si];
    rf_err e;
    int truth;
    memset(out, 0, sizeof *out);
    out->idx = idx;
    int lookup = st->cache && !p->no_cache;   /* else the key is computed at commit */
    if (rf_dag_when(ctx, si, idx, &truth, &e) < 0 ||
        (truth && (rf_dag_render(ctx, si, idx, &out->params, &out->inputs, &e) < 0 ||
                   (lookup && rf_dag_cache_key(st->worker, out->params, out->inputs,
                                               p->digests, out->key, &e) < 0)))) {
        json_t *r = json_pack("{s:s,s:s}", "h", "fail", "e", e.msg);
        char *txt = json_dumps(r, JSON_COMPACT);
        rf_buf why = RF_BUF_INIT;
        rf_buf_addf(&why, "%s/%zu: %s", st->name, idx, e.msg);
        fin_add(f, p, si, idx, "fail", txt, why.data);
        rf_log_warn(s->o.log, "run %s: %s", p->run, why.data);
        rf_buf_free(&why);
        free(txt);
        json_decref(r);
        return 0;
    }
    if (!truth) {
        fin_add(f, p, si, idx, "skip", "{\"h\":\"skip\",\"o\":{},\"m\":{}}", NULL);
        return 0;
    }
    rf_dag_task_id(&out->id, p->run, st->name, idx);
    return 1;
}

static int dispatch_step(rf_sched *s, const plan *p, size_t si, int *released,
                         rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    size_t total, nbits;
    unsigned char *bits;
    if (step_total(s, p->run, si, &total, err) < 0 ||
        fin_bits(s, p->run, si, &bits, &nbits, err) < 0)
        return -1;
    size_t nsteps = p->wf->nsteps;
    json_t **results = rf_xcalloc(nsteps + 1, sizeof *results);
    rf_dag_ctx ctx = {p->wf, p->run, results, NULL, NULL};
    finisher f = FINISHER_INIT(s);
    prep *v = rf_xcalloc(BATCH, sizeof *v);
    size_t nv = 0;
    int rc = gather_refs(s, p, si, results, err);
    size_t first = 0;
    while (first < total && bit_set(bits, nbits, first))
        first++;
    if (rc == 0 && st->fan == RF_FAN_CHAIN && first < total && first > 0) {
        ctx.prev = gather(s, p, si, first - 1, first, err);
        json_t *one = ctx.prev ? json_incref(json_array_get(ctx.prev, 0)) : NULL;
        json_decref(ctx.prev);
        ctx.prev = one;
        rc = one ? 0 : -1;
    }
    if (rc == 0 && total > st->ntasks) {
        ctx.history = gather(s, p, si, 0, total, err);
        rc = ctx.history ? 0 : -1;
    }
    for (size_t idx = first; rc == 0 && idx < total; idx++) {
        if (bit_set(bits, nbits, idx))
            continue;
        if (prepare(s, p, &ctx, si, idx, &v[nv], &f))
            nv++;
        if (nv == BATCH || f.n >= BATCH) {
            rc = dispatch_batch(s, p, si, v, nv, &f, err);
            preps_free(v, nv);
            nv = 0;
            if (rc == 0)
                rc = fin_flush(&f, released, err);
            if (rc == 0 && lock_run(s, p->run, LOCK_MS, err) == 0)
                rc = rf_errf(err, RF_ECONFLICT, "lost the dispatch lease of run %s",
                             p->run);
        }
        if (st->fan == RF_FAN_CHAIN)
            break;   /* one link at a time: the next needs this one's outputs */
    }
    if (rc == 0)
        rc = dispatch_batch(s, p, si, v, nv, &f, err);
    if (rc == 0)
        rc = fin_flush(&f, released, err);
    preps_free(v, nv);
    free(v);
    fin_free(&f);
    for (size_t d = 0; d < nsteps; d++)
        json_decref(results[d]);
    free(results);
    json_decref(ctx.prev);
    json_decref(ctx.history);
    free(bits);
    return rc;
}

static int run_state(rf_sched *s, const char *run, char **state, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    key_of(&k, s, run, "");
    const char *argv[] = {"HGET", k.data, "state"};
    int rc = get_str(s, 3, argv, state, err);
    rf_buf_free(&k);
    return rc;
}

/* Dispatch every step in the run's todo until none is left. Holds the run's
 * dispatch lease; returns 0 without doing anything if another holds it. */
static int dispatch_run(rf_sched *s, const char *run, rf_err *err)
{
    int got = lock_run(s, run, LOCK_MS, err);
    if (got <= 0)
        return got;
    int rc = 0;
    rf_buf k = RF_BUF_INIT;
    key_of(&k, s, run, ":todo");
    for (int round = 0; rc == 0 && round < 1000000; round++) {
        char *state = NULL;
        if ((rc = run_state(s, run, &state, err)) < 0)
            break;
        int running = state && !strcmp(state, "running");
        free(state);
        if (!running)
            break;
        const char *argv[] = {"HGETALL", k.data};
        redisReply *rep;
        if ((rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err)) < 0)
            break;
        if (rep->elements == 0) {
            freeReplyObject(rep);
            break;
        }
        plan *p = plan_get(s, run, err);
        for (size_t i = 0; p && rc == 0 && i + 1 < rep->elements; i += 2) {
            size_t si = (size_t)strtoull(rep->element[i]->str, NULL, 10);
            if (si >= p->wf->nsteps)
                continue;
            int released = 0;
            rc = dispatch_step(s, p, si, &released, err);
            if (rc == 0) {
                const char *a[] = {s->P, run, rep->element[i]->str,
                                   rep->element[i + 1]->str};
                redisReply *r2;
                rc = rf_redis_eval(s->r, &lua_todo_done, 0, 4, a, NULL, &r2, err);
                if (rc == 0)
                    freeReplyObject(r2);
            }
        }
        if (!p)
            rc = -1;
        freeReplyObject(rep);
    }
    rf_buf_free(&k);
    rf_err e2;
    lock_run(s, run, 0, &e2);
    if (rc < 0)
        rf_err_prefix(err, "run %s: dispatch", run);
    return rc;
}

/* -------------------------------------------------------------- events */

typedef struct event {
    char *id, *ev, *task, *run, *step;
    size_t idx;
} event;

static void events_free(event *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].id), free(v[i].ev), free(v[i].task), free(v[i].run), free(v[i].step);
    free(v);
}

/* Parse stream entries [[id, [k, v, ...]], ...]. */
static event *parse_entries(const redisReply *entries, size_t *n)
{
    event *v = rf_xcalloc(entries->elements + 1, sizeof *v);
    *n = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        event *x = &v[(*n)++];
        x->id = rf_xstrdup(e->element[0]->str);
        const redisReply *kv = e->element[1];
        for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2) {
            const char *f = kv->element[k]->str, *val = kv->element[k + 1]->str;
            if (!f || !val)
                continue;
            if (!strcmp(f, "ev"))
                x->ev = rf_xstrdup(val);
            else if (!strcmp(f, "task"))
                x->task = rf_xstrdup(val);
            else if (!strcmp(f, "run"))
                x->run = rf_xstrdup(val);
            else if (!strcmp(f, "step"))
                x->step = rf_xstrdup(val);
            else if (!strcmp(f, "idx"))
                x->idx = (size_t)strtoull(val, NULL, 10);
        }
    }
    return v;
}

static int ensure_group(rf_sched *s, rf_err *err)
{
    const char *argv[] = {"XGROUP", "CREATE", rf_queue_events_key(s->q), "sched", "0",
                          "MKSTREAM"};
    redisReply *rep;
    rf_err e;
    if (rf_redis_cmdv(s->r, 6, argv, NULL, &rep, &e) == 0) {
        freeReplyObject(rep);
        return 0;
    }
    if (strstr(e.msg, "BUSYGROUP"))
        return 0;
    *err = e;
    return -1;
}

/* Record state of the tasks of done/dead events, in one script call. */
static const rf_script lua_records = {"run records",
    "local out = {}\n"
    "for i = 2, #ARGV do\n"
    "  local r = redis.call('HMGET', ARGV[1] .. 't:' .. ARGV[i], 'st', 'type', 'params',\n"
    "    'inputs', 'out', 'met', 'err')\n"
    "  for j = 1, 7 do out[#out + 1] = r[j] or '' end\n"
    "end\n"
    "return out\n"};

/* Add a run id to a small set (linear: a batch touches few runs). */
static void note_run(char ***runs, size_t *n, const char *run)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*runs)[i], run))
            return;
    *runs = rf_xrealloc(*runs, (*n + 1) * sizeof **runs);
    (*runs)[(*n)++] = rf_xstrdup(run);
}

static double metric_spawn(const char *met)
{
    json_t *m = json_loads(met, 0, NULL);
    double k = json_number_value(json_object_get(m, "spawn"));
    json_decref(m);
    return k;
}

/* A committed task: remember its result under its cache key, grow its step
 * if it asked to, and finish it. */
static int on_done(rf_sched *s, const plan *p, size_t si, const event *ev,
                   redisReply **rec, rf_buf *cache_args, finisher *f, rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    const char *type = rec[1]->str, *params = rec[2]->str, *inputs = rec[3]->str;
    const char *out = rec[4]->str[0] ? rec[4]->str : "{}";
    const char *met = rec[5]->str[0] ? rec[5]->str : "{}";
    if (st->cache && type[0]) {
        char key[RF_SHA256_HEX];
        rf_err e;
        if (rf_dag_cache_key(type, params[0] ? params : "{}", inputs[0] ? inputs : "{}",
                             p->digests, key, &e) == 0) {
            rf_buf_addf(cache_args, "%s%c{\"o\":%s,\"m\":%s,\"h\":\"cache\",\"from\":\"%s\"}%c",
                        key, 0, out, met, ev->task, 0);
        }
    }
    double k = st->spawn_max ? metric_spawn(met) : 0;
    if (k >= 1) {
        char sidx[24], idx[24], kk[24], max[24];
        snprintf(sidx, sizeof sidx, "%zu", si);
        snprintf(idx, sizeof idx, "%zu", ev->idx);
        snprintf(kk, sizeof kk, "%.0f", k > 1e6 ? 1e6 : k);
        snprintf(max, sizeof max, "%zu", st->spawn_max);
        const char *argv[] = {s->P, p->run, sidx, idx, kk, max};
        redisReply *rep;
        if (rf_redis_eval(s->r, &lua_spawn, 0, 6, argv, NULL, &rep, err) < 0)
            return -1;
        if (reply_int(rep) > 0)
            rf_log_info(s->o.log, "run %s: %s/%zu spawned %lld task(s)", p->run,
                        st->name, ev->idx, reply_int(rep));
        freeReplyObject(rep);
    }
    fin_add(f, p, si, ev->idx, "done", "", NULL);
    return 0;
}

static int put_cache(rf_sched *s, rf_buf *args, rf_err *err)
{
    if (!args->len)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < args->len; i++)
        n += args->data[i] == 0;
    const char **argv = rf_xcalloc(n + 3, sizeof *argv);
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", (long long)s->o.retention_s * 1000);
    argv[0] = s->P;
    argv[1] = ms;
    size_t k = 2;
    for (const char *c = args->data; c < args->data + args->len; c += strlen(c) + 1)
        argv[k++] = c;
    redisReply *rep;
    int rc = rf_redis_eval(s->r, &lua_cache_put, 0, (int)k, argv, NULL, &rep, err);
    if (rc == 0)
        freeReplyObject(rep);
    free(argv);
    rf_buf_reset(args);
    return rc;
}

/* A task cancelled in the queue while its run is running again (resumed
 * after a cancel): forget the record so that dispatch enqueues it anew. */
static int on_cancelled(rf_sched *s, const plan *p, size_t si, const event *ev,
                        rf_err *err)
{
    char *state;
    if (run_state(s, p->run, &state, err) < 0)
        return -1;
    int running = state && !strcmp(state, "running");
    free(state);
    if (!running)
        return 0;
    const char *ids[] = {ev->task};
    if (rf_queue_forget(s->q, ids, 1, err) < 0)
        return -1;
    rf_buf k = RF_BUF_INIT;
    char f[24];
    key_of(&k, s, p->run, ":todo");
    snprintf(f, sizeof f, "%zu", si);
    const char *argv[] = {"HINCRBY", k.data, f, "1"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

static int handle_events(rf_sched *s, event *v, size_t n, rf_err *err)
{
    /* One script call fetches the records of every done/dead task. */
    const char **argv = rf_xcalloc(n + 2, sizeof *argv);
    size_t na = 1;
    argv[0] = s->P;
    for (size_t i = 0; i < n; i++)
        if (v[i].task && v[i].ev && (!strcmp(v[i].ev, "done") || !strcmp(v[i].ev, "dead")))
            argv[na++] = v[i].task;
    redisReply *recs = NULL;
    int rc = na > 1 ? rf_redis_eval(s->r, &lua_records, 0, (int)na, argv, NULL, &recs,
                                    err) : 0;
    free(argv);
    if (rc < 0)
        return -1;
    finisher f = FINISHER_INIT(s);
    rf_buf cache_args = RF_BUF_INIT;
    char **runs = NULL;
    size_t nruns = 0, r = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        event *ev = &v[i];
        int has_rec = ev->task && ev->ev && (!strcmp(ev->ev, "done") || !strcmp(ev->ev, "dead"));
        redisReply **rec = has_rec ? &recs->element[7 * r++] : NULL;
        if (!ev->ev || !ev->run || !ev->run[0])
            continue;
        if (!strcmp(ev->ev, "submit")) {
            note_run(&runs, &nruns, ev->run);
            continue;
        }
        rf_err e;
        plan *p = plan_get(s, ev->run, &e);
        size_t si;
        if (!p) {
            if (e.code != RF_ENOTFOUND) {
                *err = e;
                rc = -1;
            }
            continue;       /* a trimmed run: nothing to do */
        }
        if (!ev->step || step_index(p, ev->step, &si) < 0)
            continue;
        if (!strcmp(ev->ev, "done") && !strcmp(rec[0]->str, "done")) {
            rc = on_done(s, p, si, ev, rec, &cache_args, &f, err);
            note_run(&runs, &nruns, ev->run);
        } else if (!strcmp(ev->ev, "dead") && !strcmp(rec[0]->str, "dead")) {
            json_t *res = json_pack("{s:s,s:s}", "h", "fail", "e", rec[6]->str);
            char *txt = json_dumps(res, JSON_COMPACT);
            rf_buf why = RF_BUF_INIT;
            rf_buf_addf(&why, "%s/%zu: %s", ev->step, ev->idx, rec[6]->str);
            fin_add(&f, p, si, ev->idx, "fail", txt, why.data);
            rf_log_warn(s->o.log, "run %s: task %s dead: %s", ev->run, ev->task,
                        rec[6]->str);
            rf_buf_free(&why);
            free(txt);
            json_decref(res);
        } else if (!strcmp(ev->ev, "cancelled")) {
            rc = on_cancelled(s, p, si, ev, err);
            note_run(&runs, &nruns, ev->run);
        }
        if (rc == 0 && f.n >= BATCH)
            rc = put_cache(s, &cache_args, err) || fin_flush(&f, NULL, err);
    }
    /* The cache first: a dependent dispatched after the finish must see it. */
    if (rc == 0)
        rc = put_cache(s, &cache_args, err);
    if (rc == 0)
        rc = fin_flush(&f, NULL, err);
    if (recs)
        freeReplyObject(recs);
    for (size_t i = 0; i < nruns; i++) {
        if (rc == 0)
            rc = dispatch_run(s, runs[i], err);
        free(runs[i]);
    }
    free(runs);
    rf_buf_free(&cache_args);
    fin_free(&f);
    if (rc < 0)
        return -1;
    /* Acknowledge only what was fully handled: after a crash, the rest is
     * claimed by another scheduler and handled again (idempotently). */
    const char **ack = rf_xcalloc(n + 3, sizeof *ack);
    ack[0] = "XACK", ack[1] = rf_queue_events_key(s->q), ack[2] = "sched";
    for (size_t i = 0; i < n; i++)
        ack[3 + i] = v[i].id;
    redisReply *rep;
    rc = n ? rf_redis_cmdv(s->r, (int)n + 3, ack, NULL, &rep, err) : 0;
    if (n && rc == 0)
        freeReplyObject(rep);
    free(ack);
    return rc;
}

int rf_sched_poll(rf_sched *s, long block_ms, size_t *handled, rf_err *err)
{
    if (handled)
        *handled = 0;
    char block[24];
    snprintf(block, sizeof block, "%ld", block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", "sched", s->consumer, "COUNT", "1024",
                          "BLOCK", block, "STREAMS", rf_queue_events_key(s->q), ">"};
    redisReply *rep;
    rf_err e;
    if (rf_redis_cmdv(s->r, 11, argv, NULL, &rep, &e) < 0) {
        /* First use, or a Redis that came back empty: make the group. */
        if (!strstr(e.msg, "NOGROUP")) {
            *err = e;
            return -1;
        }
        if (ensure_group(s, err) < 0 || rf_redis_cmdv(s->r, 11, argv, NULL, &rep, err) < 0)
            return -1;
    }
    size_t n = 0;
    event *v = NULL;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
        rep->element[0]->elements == 2)
        v = parse_entries(rep->element[0]->element[1], &n);
    freeReplyObject(rep);
    int rc = n ? handle_events(s, v, n, err) : 0;
    if (v)
        events_free(v, n);
    if (handled)
        *handled = n;
    return rc;
}

/* Take over events another scheduler read but never acknowledged. */
static int claim_stale(rf_sched *s, rf_err *err)
{
    char idle[24];
    snprintf(idle, sizeof idle, "%ld", s->o.claim_idle_ms);
    char start[64] = "0-0";
    for (int round = 0; round < 100; round++) {
        const char *argv[] = {"XAUTOCLAIM", rf_queue_events_key(s->q), "sched",
                              s->consumer, idle, start, "COUNT", "512"};
        redisReply *rep;
        if (rf_redis_cmdv(s->r, 8, argv, NULL, &rep, err) < 0)
            return -1;
        size_t n = 0;
        event *v = NULL;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2) {
            snprintf(start, sizeof start, "%s", rep->element[0]->str ? rep->element[0]->str : "0-0");
            v = parse_entries(rep->element[1], &n);
        }
        freeReplyObject(rep);
        if (n)
            rf_log_info(s->o.log, "claimed %zu unacknowledged event(s)", n);
        int rc = n ? handle_events(s, v, n, err) : 0;
        if (v)
            events_free(v, n);
        if (rc < 0)
            return -1;
        if (!strcmp(start, "0-0"))
            break;
    }
    return 0;
}

/* The strings of an array reply as a NULL-terminated list the caller owns;
 * frees the reply. */
static void take_strings(redisReply *rep, char ***ids, size_t *n)
{
    *n = rep->elements;
    *ids = rf_xcalloc(*n + 1, sizeof **ids);
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = rf_xstrdup(rep->element[i]->str ? rep->element[i]->str : "");
    freeReplyObject(rep);
}

/* Active runs, for sweeps. */
static int active_runs(rf_sched *s, char ***ids, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%sruns:active", s->P);
    const char *argv[] = {"SMEMBERS", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    take_strings(rep, ids, n);
    return 0;
}

static int reopen(rf_sched *s, const char *run, const char *mode, redisReply **out,
                  rf_err *err)
{
    const char *argv[] = {s->P, run, mode};
    return rf_redis_eval(s->r, &lua_reopen, 0, 3, argv, NULL, out, err);
}

static int trim_old(rf_sched *s, rf_err *err)
{
    char max[32];
    snprintf(max, sizeof max, "%lld",
             (long long)(rf_wall_ms() - (int64_t)s->o.retention_s * 1000));
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%sruns", s->P);
    const char *argv[] = {"ZRANGEBYSCORE", k.data, "-inf", max, "LIMIT", "0", "100"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 7, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    for (size_t i = 0; rc == 0 && i < rep->elements; i++) {
        const char *run = rep->element[i]->str;
        char *state = NULL;
        if ((rc = run_state(s, run, &state, err)) < 0)
            break;
        int live = state && !strcmp(state, "running");
        free(state);
        if (live)
            continue;
        rf_err e;
        plan *p = plan_get(s, run, &e);
        size_t nsteps = p ? p->wf->nsteps : 0;
        const char **a = rf_xcalloc(nsteps + 3, sizeof *a);
        a[0] = s->P, a[1] = run;
        /* Forget the task records first, then the run. */
        for (size_t si = 0; p && rc == 0 && si < nsteps; si++) {
            a[2 + si] = p->wf->steps[si].name;
            size_t total;
            if ((rc = step_total(s, run, si, &total, err)) < 0)
                break;
            rf_buf id = RF_BUF_INIT;
            for (size_t lo = 0; rc == 0 && lo < total; lo += BATCH) {
                size_t hi = total - lo > BATCH ? lo + BATCH : total;
                char **ids = rf_xcalloc(hi - lo, sizeof *ids);
                for (size_t j = lo; j < hi; j++) {
                    rf_dag_task_id(&id, run, p->wf->steps[si].name, j);
                    ids[j - lo] = rf_buf_detach(&id, NULL);
                }
                rc = rf_queue_forget(s->q, (const char *const *)ids, hi - lo, err);
                for (size_t j = 0; j < hi - lo; j++)
                    free(ids[j]);
                free(ids);
            }
        }
        redisReply *r2;
        if (rc == 0 && (rc = rf_redis_eval(s->r, &lua_trim, 0, (int)(2 + nsteps), a,
                                           NULL, &r2, err)) == 0)
            freeReplyObject(r2);
        free(a);
        plan_evict(s, run);
        if (rc == 0)
            rf_log_info(s->o.log, "trimmed run %s (past retention)", run);
    }
    freeReplyObject(rep);
    return rc;
}

/* Schedulers say they are alive in a sorted set (for `submit --wait`). */
static int beat(rf_sched *s, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char now[32], old[32];
    rf_buf_addf(&k, "%sschedulers", s->P);
    snprintf(now, sizeof now, "%lld", (long long)rf_wall_ms());
    snprintf(old, sizeof old, "%lld", (long long)rf_wall_ms() - 3600000);
    const char *a1[] = {"ZADD", k.data, now, s->consumer};
    const char *a2[] = {"ZREMRANGEBYSCORE", k.data, "-inf", old};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, a1, NULL, &rep, err);
    if (rc == 0) {
        freeReplyObject(rep);
        if ((rc = rf_redis_cmdv(s->r, 4, a2, NULL, &rep, err)) == 0)
            freeReplyObject(rep);
    }
    rf_buf_free(&k);
    return rc;
}

int rf_sched_alive(rf_sched *s, long window_ms, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char min[32];
    rf_buf_addf(&k, "%sschedulers", s->P);
    snprintf(min, sizeof min, "%lld", (long long)(rf_wall_ms() - window_ms));
    const char *argv[] = {"ZCOUNT", k.data, min, "+inf"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    *n = (size_t)reply_int(rep);
    freeReplyObject(rep);
    return 0;
}

int rf_sched_maintain(rf_sched *s, int full, rf_err *err)
{
    int64_t now = rf_mono_ms();
    if (ensure_group(s, err) < 0 || beat(s, err) < 0)
        return -1;
    if (claim_stale(s, err) < 0)
        return -1;
    char **ids;
    size_t n;
    if (active_runs(s, &ids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && full) {
            redisReply *rep;
            if ((rc = reopen(s, ids[i], "sync", &rep, err)) == 0)
                freeReplyObject(rep);
        }
        if (rc == 0)
            rc = dispatch_run(s, ids[i], err);
        free(ids[i]);
    }
    free(ids);
    if (rc == 0 && now - s->last_reap_ms >= 1000) {
        s->last_reap_ms = now;
        rc = rf_queue_reap(s->q, 1000, NULL, err);
    }
    /* Trim every minute, or faster when the retention is shorter. */
    int64_t trim_every = s->o.retention_s * 500 < 60000 ? s->o.retention_s * 500 : 60000;
    if (rc == 0 && now - s->last_trim_ms >= trim_every) {
        s->last_trim_ms = now;
        rc = trim_old(s, err);
    }
    return rc;
}

int rf_sched_serve(rf_sched *s, volatile sig_atomic_t *stop, rf_err *err)
{
    if (rf_sched_maintain(s, 1, err) < 0)
        return -1;
    int64_t last = rf_mono_ms();
    while (!*stop) {
        rf_err e;
        if (rf_sched_poll(s, 500, NULL, &e) < 0) {
            rf_log_error(s->o.log, "%s", e.msg);
            if (e.code != RF_ENET) {
                *err = e;
                return -1;
            }
            continue;   /* rf_redis already waited with backoff */
        }
        if (rf_mono_ms() - last >= 2000) {
            last = rf_mono_ms();
            if (rf_sched_maintain(s, 0, &e) < 0)
                rf_log_error(s->o.log, "maintenance: %s", e.msg);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ run verbs */

/* Ids of a run's unfinished tasks in steps whose needs are met. */
static int unfinished_ids(rf_sched *s, const plan *p, char ***ids, size_t *n, rf_err *err)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    for (size_t si = 0; si < p->wf->nsteps; si++) {
        size_t total, nbits;
        unsigned char *bits;
        if (step_total(s, p->run, si, &total, err) < 0 ||
            fin_bits(s, p->run, si, &bits, &nbits, err) < 0)
            return -1;
        rf_buf id = RF_BUF_INIT;
        for (size_t i = 0; i < total; i++) {
            if (bit_set(bits, nbits, i))
                continue;
            if (*n == cap)
                *ids = rf_xrealloc(*ids, (cap = cap ? 2 * cap : 256) * sizeof **ids);
            rf_dag_task_id(&id, p->run, p->wf->steps[si].name, i);
            (*ids)[(*n)++] = rf_buf_detach(&id, NULL);
        }
        free(bits);
    }
    return 0;
}

static void ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int rf_sched_cancel(rf_sched *s, const char *run, rf_err *err)
{
    const char *argv[] = {s->P, run};
    redisReply *rep;
    if (rf_redis_eval(s->r, &lua_cancel, 0, 2, argv, NULL, &rep, err) < 0)
        return -1;
    long long st = reply_int(rep);
    freeReplyObject(rep);
    if (st < 0)
        return rf_errf(err, RF_ENOTFOUND, "no run \"%s\"", run);
    if (st == 0)
        return rf_errf(err, RF_ESTATE, "run %s has already finished", run);
    plan *p = plan_get(s, run, err);
    char **ids;
    size_t n;
    if (!p || unfinished_ids(s, p, &ids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t lo = 0; rc == 0 && lo < n; lo += BATCH)
        rc = rf_queue_cancel(s->q, (const char *const *)ids + lo,
                             n - lo > BATCH ? BATCH : n - lo, err);
    ids_free(ids, n);
    return rc;
}

int rf_sched_retry(rf_sched *s, const char *run, size_t *count, rf_err *err)
{
    plan *p = plan_get(s, run, err);
    if (!p)
        return -1;
    redisReply *rep;
    if (reopen(s, run, "retry", &rep, err) < 0)
        return -1;
    const char *before = rep->elements ? rep->element[0]->str : "";
    if (strcmp(before, "failed")) {
        rf_errf(err, RF_ESTATE, "run %s is %s, not failed; nothing to retry", run, before);
        freeReplyObject(rep);
        return -1;
    }
    size_t n = rep->elements - 1;
    char **ids = rf_xcalloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        /* "STEP/IDX" with STEP the plan index: build the task id. */
        const char *k = rep->element[i + 1]->str;
        size_t si = (size_t)strtoull(k, NULL, 10);
        const char *slash = strchr(k, '/');
        rf_buf id = RF_BUF_INIT;
        if (si < p->wf->nsteps && slash)
            rf_dag_task_id(&id, run, p->wf->steps[si].name,
                           (size_t)strtoull(slash + 1, NULL, 10));
        ids[i] = rf_buf_detach(&id, NULL);
    }
    freeReplyObject(rep);
    /* Dead tasks go back to their queue with a fresh budget; tasks that
     * failed before reaching a queue are dispatched again from todo. */
    int rc = n ? rf_queue_dlq_requeue(s->q, (const char *const *)ids, n, NULL, err) : 0;
    ids_free(ids, n);
    if (count)
        *count = n;
    return rc;
}

int rf_sched_resume(rf_sched *s, const char *run, rf_err *err)
{
    plan *p = plan_get(s, run, err);
    if (!p)
        return -1;
    char *state;
    if (run_state(s, run, &state, err) < 0)
        return -1;
    int done = state && !strcmp(state, "succeeded");
    free(state);
    if (done)
        return rf_errf(err, RF_ESTATE, "run %s has already succeeded", run);
    /* Cancelled task records would make enqueue a no-op: forget them. */
    char **ids;
    size_t n;
    if (unfinished_ids(s, p, &ids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rf_task_info info;
        int got = rf_queue_get(s->q, ids[i], &info, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got && !strcmp(info.state, "cancelled")) {
            const char *one[] = {ids[i]};
            rc = rf_queue_forget(s->q, one, 1, err);
        }
        if (got)
            rf_task_info_free(&info);
    }
    ids_free(ids, n);
    redisReply *rep;
    if (rc == 0 && (rc = reopen(s, run, "resume", &rep, err)) == 0)
        freeReplyObject(rep);
    return rc;
}

/* ------------------------------------------------------------- queries */

static char *hash_field(const redisReply *h, const char *f)
{
    for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (h->element[i]->str && !strcmp(h->element[i]->str, f))
            return rf_xstrdup(h->element[i + 1]->str ? h->element[i + 1]->str : "");
    return rf_xstrdup("");
}

int rf_sched_status(rf_sched *s, const char *run, rf_run_status *st, rf_err *err)
{
    memset(st, 0, sizeof *st);
    plan *p = plan_get(s, run, err);
    if (!p)
        return -1;
    rf_buf k = RF_BUF_INIT;
    key_of(&k, s, run, "");
    const char *a1[] = {"HGETALL", k.data};
    redisReply *h;
    int rc = rf_redis_cmdv(s->r, 2, a1, NULL, &h, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    st->id = rf_xstrdup(run);
    st->name = hash_field(h, "name");
    st->file = hash_field(h, "file");
    st->state = hash_field(h, "state");
    st->error = hash_field(h, "error");
    char *v = hash_field(h, "created");
    st->created_ms = strtoll(v, NULL, 10);
    free(v);
    v = hash_field(h, "finished");
    st->finished_ms = strtoll(v, NULL, 10);
    free(v);
    v = hash_field(h, "nocache");
    st->no_cache = !strcmp(v, "1");
    free(v);
    freeReplyObject(h);

    size_t n = p->wf->nsteps;
    const char **argv = rf_xcalloc(n + 3, sizeof *argv);
    argv[0] = s->P, argv[1] = run;
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = p->wf->steps[i].name;
    redisReply *rep;
    rc = rf_redis_eval(s->r, &lua_status, 0, (int)n + 2, argv, NULL, &rep, err);
    free(argv);
    if (rc < 0) {
        rf_run_status_free(st);
        return -1;
    }
    st->nsteps = n;
    st->steps = rf_xcalloc(n + 1, sizeof *st->steps);
    for (size_t i = 0; i < n && 13 * (i + 1) <= rep->elements; i++) {
        redisReply **e = &rep->element[13 * i];
        rf_step_status *ss = &st->steps[i];
        ss->name = rf_xstrdup(p->wf->steps[i].name);
        ss->worker = rf_xstrdup(p->wf->steps[i].worker);
        ss->fan = p->wf->steps[i].fan;
        ss->total = (size_t)reply_int(e[0]);
        size_t fin = (size_t)reply_int(e[1]);
        ss->failed = (size_t)reply_int(e[2]);
        ss->done = (size_t)reply_int(e[3]);
        ss->cached = (size_t)reply_int(e[4]);
        ss->skipped = (size_t)reply_int(e[5]);
        ss->running = (size_t)reply_int(e[7]);
        ss->queued = (size_t)reply_int(e[8]);
        ss->retrying = (size_t)reply_int(e[9]);
        /* Not yet dispatched (or dead, counted as failed). */
        size_t known = fin + ss->failed + ss->running + ss->queued + ss->retrying;
        ss->pending = ss->total > known ? ss->total - known : 0;
        st->total += ss->total;
        st->finished += fin;
        st->failed += ss->failed;
    }
    freeReplyObject(rep);
    return 0;
}

void rf_run_status_free(rf_run_status *st)
{
    for (size_t i = 0; i < st->nsteps; i++)
        free(st->steps[i].name), free(st->steps[i].worker);
    free(st->steps);
    free(st->id), free(st->name), free(st->file), free(st->state), free(st->error);
    memset(st, 0, sizeof *st);
}

int rf_sched_list(rf_sched *s, size_t limit, char ***ids, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char stop[24];
    rf_buf_addf(&k, "%sruns", s->P);
    snprintf(stop, sizeof stop, "%zd", limit ? (ssize_t)limit - 1 : -1);
    const char *argv[] = {"ZRANGE", k.data, "0", stop, "REV"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 5, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    take_strings(rep, ids, n);
    return 0;
}

int rf_sched_results(rf_sched *s, const char *run, const char *step, char **json,
                     rf_err *err)
{
    plan *p = plan_get(s, run, err);
    size_t si, total;
    if (!p)
        return -1;
    if (step_index(p, step, &si) < 0)
        return rf_errf(err, RF_ENOTFOUND, "run %s has no step \"%s\"", run, step);
    if (step_total(s, run, si, &total, err) < 0)
        return -1;
    json_t *arr = gather(s, p, si, 0, total, err);
    if (!arr)
        return -1;
    *json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}
