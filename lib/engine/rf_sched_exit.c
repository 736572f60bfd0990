/* rf_sched_exit: on_exit steps (exit handlers) on the scheduler's side.
 * When a run's main steps are over, the run scripts (rf_sched_stepdone.lua)
 * record how they ended in the run's `main` field and release the exit
 * steps; these helpers give the exit steps ${{ workflow.status }} and
 * ${{ workflow.failures }}, and make them start over on retry/resume. */
#include "engine/rf_sched_impl.h"

int rf_sched_run_main(rf_sched *s, const char *run, char **main, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, run, "");
    const char *argv[] = {"HGET", k.data, "main"};
    int rc = rf_sched_get_str(s, 3, argv, main, err);
    rf_buf_free(&k);
    return rc;
}

static int fail_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t sx = json_integer_value(json_object_get(x, "s"));
    json_int_t sy = json_integer_value(json_object_get(y, "s"));
    if (sx != sy)
        return sx < sy ? -1 : 1;
    json_int_t ix = json_integer_value(json_object_get(x, "index"));
    json_int_t iy = json_integer_value(json_object_get(y, "index"));
    return ix < iy ? -1 : ix > iy;
}

/* The failed tasks of the run, [{"step", "index", "error"}...] in plan and
 * task order (Argo's workflow.failures, in ruvflow's terms). */
int rf_sched_exit_failures(rf_sched *s, const plan *p, char **json, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, p->run, ":res");
    const char *argv[] = {"HGETALL", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    json_t **v = rf_xcalloc(rep->elements / 2 + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        json_t *r = json_loads(rep->element[i + 1]->str, 0, NULL);
        const char *how = json_string_value(json_object_get(r, "h"));
        const char *key = rep->element[i]->str, *slash = strchr(key, '/');
        size_t si = (size_t)strtoull(key, NULL, 10);
        if (how && !strcmp(how, "fail") && slash && si < p->wf->nsteps)
            v[n++] = json_pack("{s:s,s:I,s:s,s:I}", "step", p->wf->steps[si].name,
                               "index", (json_int_t)strtoull(slash + 1, NULL, 10),
                               "error", json_string_value(json_object_get(r, "e")) ?
                               json_string_value(json_object_get(r, "e")) : "",
                               "s", (json_int_t)si);
        json_decref(r);
    }
    freeReplyObject(rep);
    qsort(v, n, sizeof *v, fail_cmp);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_object_del(v[i], "s");
        json_array_append_new(a, v[i]);
    }
    free(v);
    *json = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return 0;
}

/* Forget the task records of the exit steps, so that they run again. */
int rf_sched_exit_forget(rf_sched *s, const plan *p, rf_err *err)
{
    int rc = 0;
    rf_buf id = RF_BUF_INIT;
    for (size_t si = 0; rc == 0 && si < p->wf->nsteps; si++) {
        size_t total;
        if (!p->wf->steps[si].on_exit)
            continue;
        if ((rc = rf_sched_step_total(s, p->run, si, &total, err)) < 0)
            break;
        for (size_t i = 0; rc == 0 && i < total; i++) {
            rf_dag_task_id(&id, p->run, p->wf->steps[si].name, i);
            const char *one[] = {id.data};
            rc = rf_queue_forget(s->q, one, 1, err);
            rf_buf_reset(&id);
        }
    }
    rf_buf_free(&id);
    return rc;
}
