/* rf_ckpt_compact: a run's checkpoints into repository versions; the best
 * one promoted. */
#include "handlers/rf_ckpt_compact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_config.h"
#include "base/rf_json.h"
#include "ml/rf_checkpoint.h"
#include "store/rf_ckrepo.h"
#include "store/rf_codec.h"

const char rf_ckpt_compact_help[] =
    "inputs:  checkpoints=ARTIFACT... (ruvflow/checkpoint, oldest first)\n"
    "with:    repo=URL (default $RUVFLOW_CKPT_REPO, else <store>/ckpt) branch=NAME (required)\n"
    "         keyframe_every=N (8) promote=CHANNEL require='METRIC>=VALUE' message=TEXT\n"
    "         retain=apply: then the branch's retention, applied (rebase, drop, tiers):\n"
    "         keep_last=N (3) keep_best=N (1) keep_every=N (0) warm_days=D (7)\n"
    "outputs: versions (versions.json)\n"
    "metrics: versions stored_bytes input_bytes ratio promoted [dropped moved packed]\n";

/* epoch, step and the last history row's metrics of one checkpoint. */
static json_t *ckpt_meta(const char *path, rf_task *t, rf_err *err)
{
    rf_checkpoint c;
    if (rf_checkpoint_read(path, &c, err))
        return NULL;
    json_t *metrics = json_object();
    rf_tensor *h = rf_obj_get_tensor(c.root, "history", RF_F64);
    static const char *const cols[7] = {"epoch", "train_loss", "train_acc", "val_loss",
                                        "val_acc", "lr", "seconds"};
    if (h && h->ndim == 2 && h->shape[1] == 7 && h->shape[0] > 0) {
        const double *row = (const double *)h->data + (h->shape[0] - 1) * 7;
        for (int i = 1; i < 5; i++)
            if (isfinite(row[i]))
                json_object_set_new(metrics, cols[i], json_real(row[i]));
    }
    json_t *m = json_pack("{s:s,s:I,s:I,s:o}", "run", rf_task_id(t), "epoch",
                          (json_int_t)c.epoch, "step", (json_int_t)c.step, "metrics", metrics);
    rf_checkpoint_free(&c);
    return m;
}

/* Payload SHA-256s already on the branch (a rerun skips them). */
static json_t *branch_payloads(rf_ckrepo *r, const char *branch, char head[RF_SHA256_HEX],
                               int *have, rf_err *err)
{
    json_t *seen = json_object();
    *have = rf_ckrepo_ref_get(r, "heads", branch, head, err);
    if (*have < 0) {
        json_decref(seen);
        return NULL;
    }
    char id[RF_SHA256_HEX];
    if (*have)
        memcpy(id, head, RF_SHA256_HEX);
    for (int go = *have; go;) {
        json_t *v;
        if (rf_ckrepo_version(r, id, &v, err)) {
            json_decref(seen);
            return NULL;
        }
        json_object_set_new(seen, json_string_value(json_object_get(v, "payload_sha256")),
                            json_string(id));
        const char *p = json_string_value(json_array_get(json_object_get(v, "parents"), 0));
        go = p != NULL;
        if (p)
            snprintf(id, sizeof id, "%s", p);
        json_decref(v);
    }
    return seen;
}

static double score(const json_t *meta)
{
    const json_t *m = json_object_get(meta, "metrics");
    const json_t *acc = json_object_get(m, "val_acc"), *loss = json_object_get(m, "val_loss");
    if (json_is_number(acc))
        return json_number_value(acc);
    return json_is_number(loss) ? -json_number_value(loss) : -INFINITY;
}

typedef struct job {
    rf_ckrepo *r;
    const char *branch, *message;
    json_t *seen, *list;
    char head[RF_SHA256_HEX], best[RF_SHA256_HEX];
    int have_head;
    double best_score;
    uint64_t in_bytes, stored;
} job;

static int compact_one(job *j, rf_task *t, const char *path, rf_err *err)
{
    rf_artifact_info info;
    rf_ckpt_stats st = {0};
    char id[RF_SHA256_HEX];
    json_t *meta = NULL;
    int rc = rf_artifact_read_header(path, &info, err);
    if (!rc && !(meta = ckpt_meta(path, t, err)))
        rc = -1;
    const char *done = rc ? NULL : json_string_value(json_object_get(j->seen, info.sha256_hex));
    if (done) {
        snprintf(id, sizeof id, "%s", done);
        rf_task_logf(t, "%s: already version %.12s", path, id);
    } else if (!rc) {
        rf_ckpt_commit c = {{j->have_head ? j->head : NULL, NULL}, j->message, meta, j->branch};
        rc = rf_ckrepo_commit_file(j->r, path, &c, id, &st, err);
        if (!rc) {
            memcpy(j->head, id, sizeof id);
            j->have_head = 1;
            j->stored += st.stored_bytes;
            j->in_bytes += st.file_bytes;
            rf_task_logf(t, "%s -> %.12s: %llu bytes stored%s%s", path, id,
                         (unsigned long long)st.stored_bytes, st.note[0] ? "; " : "", st.note);
        }
    }
    if (!rc) {
        double s = score(meta);
        if (!j->best[0] || s > j->best_score) {
            j->best_score = s;
            memcpy(j->best, id, sizeof id);
        }
        json_array_append_new(j->list, json_pack("{s:s,s:s,s:O}", "input", path, "version", id,
                                                 "meta", meta));
    }
    json_decref(meta);
    return rc ? rf_err_prefix(err, "%s", path) : 0;
}

static int open_repo(rf_task *t, rf_ckrepo **r, rf_err *err)
{
    rf_config cfg = {0};
    long every;
    if (rf_task_param_long(t, "keyframe_every", 8, &every, err))
        return -1;
    if (rf_config_load(&cfg, NULL, err))
        return -1;
    char url[2048];
    rf_ckrepo_url(&cfg, rf_task_param(t, "repo"), url, sizeof url);
    rf_ckrepo_opts o;
    rf_ckrepo_opts_default(&o);
    o.keyframe_every = (int)every;
    int rc = rf_ckrepo_open(url, &cfg, &o, r, err);
    rf_config_free(&cfg);
    return rc;
}

/* with.retain=apply: the branch's retention policy, applied after the
 * promotion (the promoted best stays: keep_best). */
static int retain(rf_task *t, rf_ckrepo *r, const char *branch, rf_err *err)
{
    const char *mode = rf_task_param(t, "retain");
    if (!mode)
        return 0;
    if (strcmp(mode, "apply"))
        return rf_errf(err, RF_EINVAL, "with.retain: \"%s\" (only \"apply\")", mode);
    long last, best, every, days;
    if (rf_task_param_long(t, "keep_last", 3, &last, err) ||
        rf_task_param_long(t, "keep_best", 1, &best, err) ||
        rf_task_param_long(t, "keep_every", 0, &every, err) ||
        rf_task_param_long(t, "warm_days", 7, &days, err))
        return -1;
    if (last < 1 || best < 0 || every < 0 || days < 0)
        return rf_errf(err, RF_EINVAL, "with.keep_last must be >= 1 (the head stays), the "
                       "others >= 0");
    rf_ckpolicy p;
    rf_ckpolicy_default(&p);
    p.keep_last = (size_t)last;
    p.keep_best = (size_t)best;
    p.keep_every = every;
    p.warm_days = (double)days;
    rf_ckretain_result res;
    int rc = rf_ckrepo_retain(r, branch, &p, "val_acc", 1, &res, err);
    if (!rc) {
        const rf_ckplace_stats *ps = &res.place;
        rf_task_logf(t, "retention: %zu of %zu versions dropped; chunks %zu hot, %zu warm, "
                     "%zu cold", res.dropped, res.n, ps->chunks[0], ps->chunks[1],
                     ps->chunks[2]);
        rf_task_metric(t, "dropped", (double)res.dropped);
        rf_task_metric(t, "moved", (double)(ps->moved[0] + ps->moved[1] + ps->moved[2]));
        rf_task_metric(t, "packed", (double)ps->packed);
    }
    rf_ckretain_result_free(&res);
    return rc;
}

int rf_ckpt_compact_handler(rf_task *t, rf_err *err)
{
    size_t n = rf_task_input_count(t, "checkpoints");
    const char *branch = rf_task_param(t, "branch");
    if (!n)
        return rf_errf(err, RF_EINVAL, "checkpoint-compact: no input \"checkpoints\"");
    if (!branch)
        return rf_errf(err, RF_EINVAL, "checkpoint-compact: with.branch is required");
    job j = {0};
    j.branch = branch;
    j.message = rf_task_param_or(t, "message", "checkpoint-compact");
    if (open_repo(t, &j.r, err))
        return -1;
    int rc = 0;
    j.list = json_array();
    if (!(j.seen = branch_payloads(j.r, branch, j.head, &j.have_head, err)))
        rc = -1;
    for (size_t i = 0; i < n && !rc; i++)
        rc = compact_one(&j, t, rf_task_input(t, "checkpoints", i), err);
    const char *channel = rf_task_param(t, "promote");
    if (!rc && channel) {
        rc = rf_ckrepo_promote(j.r, channel, j.best, rf_task_param(t, "require"), err);
        if (!rc)
            rf_task_logf(t, "promoted %.12s to %s", j.best, channel);
    }
    if (!rc)
        rc = retain(t, j.r, branch, err);
    char path[4096];
    snprintf(path, sizeof path, "%s/versions.json", rf_task_outdir(t));
    json_t *doc = json_pack("{s:s,s:O,s:s}", "branch", branch, "versions", j.list, "best",
                            j.best);
    if (!rc)
        rc = rf_json_write(path, doc, 1, err) || rf_task_output(t, "versions", path, err);
    if (!rc) {
        rf_task_metric(t, "versions", (double)json_array_size(j.list));
        rf_task_metric(t, "stored_bytes", (double)j.stored);
        rf_task_metric(t, "input_bytes", (double)j.in_bytes);
        rf_task_metric(t, "ratio", j.stored ? (double)j.in_bytes / (double)j.stored : 0);
        rf_task_metric(t, "promoted", channel ? 1 : 0);
    }
    json_decref(doc);
    json_decref(j.list);
    json_decref(j.seen);
    rf_ckrepo_close(j.r);
    return rc ? rf_err_prefix(err, "checkpoint-compact") : 0;
}
