/* rf_sched: run state on Redis and the scheduler's event loop. See
 * rf_sched.h for the model and docs/redis-schema.md ("Runs") for the keys.
 * Every state transition is a Lua script (rf_sched_*.lua); C code renders tasks,
 * computes cache keys and talks to rf_queue. */
#include "engine/rf_sched_impl.h"

/* ------------------------------------------------------------ the handle */

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
    free(p->fan_ready);
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
int rf_sched_get_str(rf_sched *s, int argc, const char **argv, char **out, rf_err *err)
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

void rf_sched_key_of(rf_buf *b, const rf_sched *s, const char *run, const char *suffix)
{
    rf_buf_reset(b);
    rf_buf_addf(b, "%srun:%s%s", s->P, run, suffix);
}

long long rf_sched_reply_int(const redisReply *r)
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
    p->fan_ready = rf_xcalloc(n + 1, 1);
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
plan *rf_sched_plan_get(rf_sched *s, const char *run, rf_err *err)
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
    rf_sched_key_of(&k, s, run, ":plan");
    char *text, *nocache;
    const char *a1[] = {"GET", k.data};
    int rc = rf_sched_get_str(s, 2, a1, &text, err);
    rf_sched_key_of(&k, s, run, "");
    const char *a2[] = {"HGET", k.data, "nocache"};
    if (rc == 0)
        rc = rf_sched_get_str(s, 3, a2, &nocache, err);
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
void rf_sched_plan_evict(rf_sched *s, const char *run)
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

int rf_sched_step_index(const plan *p, const char *name, size_t *i)
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
    size_t argc = 8 + 3 * wf->nsteps;
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
        argv[8 + 3 * i] = nums[2 + 2 * i];
        argv[9 + 3 * i] = nums[3 + 2 * i];
        argv[10 + 3 * i] = wf->steps[i].on_exit ? (wf->steps[i].fan_from ? "pe" : "e")
                                                : (wf->steps[i].fan_from ? "p" : "");
    }
    redisReply *rep = NULL;
    int rc = rf_redis_eval(s->r, &rf_sched_lua_submit, 0, (int)argc, argv, NULL, &rep, err);
    if (rc == 0 && rf_sched_reply_int(rep) != 1)
        rc = rf_errf(err, RF_ECONFLICT, "run \"%s\" already exists", id.data);
    if (rep)
        freeReplyObject(rep);
    for (size_t i = 0; i < 2 * wf->nsteps + 2; i++)
        free(nums[i]);
    free(nums);
    free(argv);
    free(plan_text);
    /* The newest submission of a name sets its retention policy. */
    if (rc == 0)
        rc = rf_sched_retention_set(s, wf, err);
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
json_t *rf_sched_gather(rf_sched *s, const plan *p, size_t si, size_t from, size_t to,
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
        if (rf_redis_eval(s->r, &rf_sched_lua_gather, 0, 6, argv, NULL, &rep, err) < 0) {
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

int rf_sched_step_total(rf_sched *s, const char *run, size_t si, size_t *total,
                      rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char f[32];
    rf_sched_key_of(&k, s, run, ":steps");
    snprintf(f, sizeof f, "t.%zu", si);
    const char *argv[] = {"HGET", k.data, f};
    char *v;
    int rc = rf_sched_get_str(s, 3, argv, &v, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    *total = v ? (size_t)strtoull(v, NULL, 10) : 0;
    free(v);
    return 0;
}

/* The finished bitmap of a step (bit i of byte i/8, most significant first,
 * as SETBIT writes it). *bits malloc'd; *n its length in bytes. */
int rf_sched_fin_bits(rf_sched *s, const char *run, size_t si, unsigned char **bits,
                    size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, run, "");
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

int rf_sched_bit_set(const unsigned char *bits, size_t n, size_t i)
{
    return i / 8 < n && (bits[i / 8] >> (7 - i % 8)) & 1;
}

/* ------------------------------------------------------------- finishing */

static void fin_arg(rf_buf *b, const char *v)
{
    rf_buf_add(b, v, strlen(v) + 1);
}

void rf_sched_fin_add(finisher *f, const plan *p, size_t si, size_t idx, const char *kind,
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

void rf_sched_fin_free(finisher *f)
{
    rf_buf_free(&f->args);
    f->n = 0;
}

/* One script call for every pending finish. *released (may be NULL) is set
 * when some step was released or a chain advanced. */
int rf_sched_fin_flush(finisher *f, int *released, rf_err *err)
{
    return rf_sched_fin_flush_after(f, NULL, NULL, 0, released, err);
}

int rf_sched_fin_flush_after(finisher *f, rf_redis_call *pre, char *const *acks, size_t nacks,
                             int *released, rf_err *err)
{
    if (!f->n && !pre && !nacks)
        return 0;
    size_t argc = 2 + nacks;
    for (size_t i = 0; i < f->args.len; i++)
        argc += f->args.data[i] == 0;
    const char **argv = rf_xcalloc(argc + 1, sizeof *argv);
    char na[24];
    snprintf(na, sizeof na, "%zu", nacks);
    argv[0] = f->s->P;
    argv[1] = na;
    size_t k = 2;
    for (size_t i = 0; i < nacks; i++)
        argv[k++] = acks[i];
    for (const char *c = f->args.data; c < f->args.data + f->args.len; c += strlen(c) + 1)
        argv[k++] = c;
    rf_redis_call calls[2];
    size_t nc = 0;
    if (pre)
        calls[nc++] = *pre;
    int fin = f->n || nacks;
    if (fin)
        calls[nc++] = (rf_redis_call){&rf_sched_lua_finish, 0, (int)argc, argv, NULL, NULL};
    int rc = rf_redis_eval_many(f->s->r, calls, nc, err);
    free(argv);
    if (rc == 0) {
        if (fin && released && rf_sched_reply_int(calls[nc - 1].reply) > 0)
            *released = 1;
        for (size_t i = 0; i < nc; i++)
            freeReplyObject(calls[i].reply);
    }
    rf_buf_reset(&f->args);
    f->n = 0;
    return rc;
}
