/* rf_checkpoint: trainer state <-> "ruvflow/checkpoint" artifact. */
#include "ml/rf_checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/rf_codec.h"

static const char *const history_cols[7] = {"epoch", "train_loss", "train_acc", "val_loss",
                                            "val_acc", "lr", "seconds"};

static rf_obj *f32_wrap(const float *p, size_t n)
{
    uint64_t shape[1] = {n};
    return rf_obj_tensor_wrap(RF_F32, 1, shape, (void *)p);
}

static rf_obj *spec_obj(const rf_mlp_spec *s)
{
    rf_obj *m = rf_obj_map();
    uint64_t shape[1] = {s->n_layers + 1};
    rf_obj *sz = rf_obj_tensor_new(RF_I64, 1, shape);
    if (sz) {
        for (size_t i = 0; i <= s->n_layers; i++)
            ((int64_t *)sz->u.t.data)[i] = (int64_t)s->sizes[i];
        rf_obj_set(m, "sizes", sz);
    }
    rf_obj_set(m, "hidden_act", rf_obj_str(rf_act_name(s->hidden_act)));
    rf_obj_set(m, "out_act", rf_obj_str(rf_act_name(s->out_act)));
    rf_obj_set(m, "loss", rf_obj_str(rf_loss_name(s->loss)));
    rf_obj_set(m, "leaky_alpha", rf_obj_float(s->leaky_alpha));
    return m;
}

static rf_obj *history_obj(const rf_trainer *tr)
{
    uint64_t shape[2] = {tr->n_history, 7};
    rf_obj *t = rf_obj_tensor_new(RF_F64, 2, shape);
    if (!t)
        return NULL;
    double *h = t->u.t.data;
    for (size_t i = 0; i < tr->n_history; i++) {
        const rf_epoch_stats *s = &tr->history[i];
        double row[7] = {(double)s->epoch, s->train_loss, s->train_acc, s->val_loss,
                         s->val_acc, s->lr, s->seconds};
        memcpy(h + i * 7, row, sizeof row);
    }
    return t;
}

static rf_obj *data_obj(const rf_dataset *d)
{
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "kind", rf_obj_str(d->kind == RF_CLASSIFICATION ? "classification"
                                                                  : "regression"));
    if (d->kind == RF_CLASSIFICATION) {
        rf_obj *a = rf_obj_array();
        for (size_t i = 0; i < d->n_classes; i++) {
            char tmp[24];
            snprintf(tmp, sizeof tmp, "%zu", i);
            rf_obj_push(a, rf_obj_str(d->labels && d->labels[i] ? d->labels[i] : tmp));
        }
        rf_obj_set(m, "labels", a);
    }
    if (d->mean && d->std) {
        rf_obj_set(m, "mean", f32_wrap(d->mean, d->n_features));
        rf_obj_set(m, "std", f32_wrap(d->std, d->n_features));
    }
    return m;
}

int rf_checkpoint_write(const char *path, const rf_trainer *tr, const rf_dataset *d,
                        int which, rf_err *err)
{
    const rf_mlp *net = &tr->net;
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "format", rf_obj_int(1));
    rf_obj_set(m, "spec", spec_obj(&net->spec));
    const float *p = which == RF_CKPT_BEST && tr->best ? tr->best : net->params;
    rf_obj_set(m, "params", f32_wrap(p, net->n_params));
    if (tr->best)
        rf_obj_set(m, "best", f32_wrap(tr->best, net->n_params));
    rf_obj *o = rf_obj_map();
    rf_obj_set(o, "kind", rf_obj_str(rf_opt_name(tr->opt.cfg.kind)));
    rf_obj_set(o, "t", rf_obj_int(tr->opt.t));
    rf_obj_set(o, "m", f32_wrap(tr->opt.m, tr->opt.n));
    rf_obj_set(o, "v", f32_wrap(tr->opt.v, tr->opt.n));
    rf_obj_set(m, "optim", o);
    uint64_t four[1] = {4};
    rf_obj_set(m, "rng", rf_obj_tensor_wrap(RF_I64, 1, four, (void *)tr->rng.s));
    rf_obj_set(m, "epoch", rf_obj_int(tr->epoch));
    rf_obj_set(m, "step", rf_obj_int(tr->step));
    rf_obj_set(m, "best_epoch", rf_obj_int(tr->best_epoch));
    rf_obj_set(m, "bad_epochs", rf_obj_int(tr->bad_epochs));
    rf_obj_set(m, "stop_reason", rf_obj_int(tr->stop_reason));
    rf_obj_set(m, "best_metric", rf_obj_float(tr->best_metric));
    rf_obj_set(m, "best_tie", rf_obj_float(tr->best_tie));
    rf_obj_set(m, "lr_scale", rf_obj_float(tr->lr_scale));
    rf_obj *h = history_obj(tr);
    if (!h) {
        rf_obj_free(m);
        return rf_errf(err, RF_ENOMEM, "checkpoint %s: history: out of memory", path);
    }
    rf_obj_set(m, "history", h);
    rf_obj *cols = rf_obj_array();
    for (int i = 0; i < 7; i++)
        rf_obj_push(cols, rf_obj_str(history_cols[i]));
    rf_obj_set(m, "history_columns", cols);
    if (d)
        rf_obj_set(m, "data", data_obj(d));
    int rc = rf_artifact_write(path, RF_CKPT_CTYPE, m, NULL, NULL, err);
    rf_obj_free(m);
    if (rc)
        rf_err_prefix(err, "checkpoint write %s", path);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

static int parse_spec(const rf_obj *m, rf_mlp_spec *s, rf_err *err)
{
    memset(s, 0, sizeof *s);
    rf_tensor *sz = m ? rf_obj_get_tensor(m, "sizes", RF_I64) : NULL;
    if (!sz || sz->ndim != 1 || sz->shape[0] < 2 || sz->shape[0] > RF_MLP_MAXLAYERS + 1)
        return rf_errf(err, RF_ECORRUPT, "bad \"spec.sizes\"");
    s->n_layers = (size_t)sz->shape[0] - 1;
    for (size_t i = 0; i <= s->n_layers; i++) {
        int64_t v = ((int64_t *)sz->data)[i];
        if (v <= 0 || v > (1 << 20))
            return rf_errf(err, RF_ECORRUPT, "bad layer size %lld", (long long)v);
        s->sizes[i] = (size_t)v;
    }
    const char *ha = rf_obj_get_str(m, "hidden_act"), *oa = rf_obj_get_str(m, "out_act");
    const char *lo = rf_obj_get_str(m, "loss");
    s->hidden_act = ha ? rf_act_parse(ha) : -1;
    s->out_act = oa ? rf_act_parse(oa) : -1;
    s->loss = lo ? rf_loss_parse(lo) : -1;
    if (s->hidden_act < 0 || s->out_act < 0 || s->loss < 0)
        return rf_errf(err, RF_ECORRUPT, "unknown activation or loss in \"spec\"");
    double a = 0.01;
    rf_obj_get_float(m, "leaky_alpha", &a);
    s->leaky_alpha = (float)a;
    return 0;
}

static const rf_tensor *f32_vec(const rf_obj *m, const char *key, size_t n)
{
    rf_tensor *t = m ? rf_obj_get_tensor(m, key, RF_F32) : NULL;
    if (!t || t->ndim != 1 || t->shape[0] != n)
        return NULL;
    return t;
}

int rf_checkpoint_read(const char *path, rf_checkpoint *c, rf_err *err)
{
    memset(c, 0, sizeof *c);
    rf_artifact_info info;
    if (rf_artifact_read(path, NULL, &info, &c->root, err))
        return rf_err_prefix(err, "checkpoint read %s", path);
    int rc = 0;
    rf_mlp probe;
    if (strcmp(info.content_type, RF_CKPT_CTYPE)) {
        rc = rf_errf(err, RF_EINVAL, "content type is \"%s\", expected \"" RF_CKPT_CTYPE "\"",
                     info.content_type);
    } else if (!c->root || c->root->type != RF_MAP) {
        rc = rf_errf(err, RF_ECORRUPT, "payload is not a map");
    } else if (!(rc = parse_spec(rf_obj_get(c->root, "spec"), &c->spec, err))) {
        /* the parameter count follows from the shape */
        if (rf_mlp_init(&probe, &c->spec, err)) {
            rc = -1;
        } else {
            c->n_params = probe.n_params;
            rf_mlp_free(&probe);
            const rf_tensor *p = f32_vec(c->root, "params", c->n_params);
            if (!p)
                rc = rf_errf(err, RF_ECORRUPT, "\"params\" does not match the network "
                             "(%zu parameters)", c->n_params);
            else
                c->params = p->data;
        }
    }
    if (!rc) {
        rf_obj_get_int(c->root, "epoch", &c->epoch);
        rf_obj_get_int(c->root, "step", &c->step);
        rf_obj *d = rf_obj_get(c->root, "data");
        const char *kind = d ? rf_obj_get_str(d, "kind") : NULL;
        if (kind) {
            c->has_data = 1;
            c->kind = strcmp(kind, "regression") ? RF_CLASSIFICATION : RF_REGRESSION;
            rf_obj *l = rf_obj_get(d, "labels");
            c->n_labels = l && l->type == RF_ARRAY ? l->u.a.len : 0;
        }
    }
    if (rc) {
        rf_checkpoint_free(c);
        return rf_err_prefix(err, "checkpoint read %s", path);
    }
    return 0;
}

void rf_checkpoint_free(rf_checkpoint *c)
{
    rf_obj_free(c->root);
    memset(c, 0, sizeof *c);
}

const char *rf_checkpoint_label(const rf_checkpoint *c, size_t i)
{
    rf_obj *d = rf_obj_get(c->root, "data");
    rf_obj *l = d ? rf_obj_get(d, "labels") : NULL;
    if (!l || l->type != RF_ARRAY || i >= l->u.a.len || l->u.a.items[i]->type != RF_STR)
        return NULL;
    return l->u.a.items[i]->u.s.p;
}

static int same_spec(const rf_mlp_spec *a, const rf_mlp_spec *b)
{
    if (a->n_layers != b->n_layers || a->hidden_act != b->hidden_act ||
        a->out_act != b->out_act || a->loss != b->loss)
        return 0;
    for (size_t i = 0; i <= a->n_layers; i++)
        if (a->sizes[i] != b->sizes[i])
            return 0;
    return 1;
}

static void spec_str(const rf_mlp_spec *s, char *buf, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i <= s->n_layers && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%zu", i ? "-" : "", s->sizes[i]);
    if (o < n)
        snprintf(buf + o, n - o, " %s/%s/%s", rf_act_name(s->hidden_act),
                 rf_act_name(s->out_act), rf_loss_name(s->loss));
}

static int incompatible(const rf_mlp_spec *have, const rf_mlp_spec *want, rf_err *err)
{
    char a[256], b[256];
    spec_str(have, a, sizeof a);
    spec_str(want, b, sizeof b);
    return rf_errf(err, RF_EINVAL, "incompatible checkpoint: it holds a %s network, "
                   "this task needs %s", a, b);
}

int rf_checkpoint_resume(rf_trainer *tr, const rf_checkpoint *c, rf_err *err)
{
    if (!same_spec(&c->spec, &tr->net.spec))
        return incompatible(&c->spec, &tr->net.spec, err);
    size_t n = tr->net.n_params;
    const rf_obj *r = c->root, *o = rf_obj_get(r, "optim");
    const char *kind = o ? rf_obj_get_str(o, "kind") : NULL;
    const rf_tensor *m = f32_vec(o, "m", n), *v = f32_vec(o, "v", n);
    rf_tensor *rng = rf_obj_get_tensor(r, "rng", RF_I64);
    rf_tensor *h = rf_obj_get_tensor(r, "history", RF_F64);
    const rf_tensor *best = f32_vec(r, "best", n);
    int64_t t = 0, epoch = 0, step = 0, best_epoch = 0, bad = 0, reason = 0;
    double best_metric = INFINITY, best_tie = INFINITY, lr_scale = 1;
    if (!kind || !m || !v || !rng || rng->ndim != 1 || rng->shape[0] != 4 || !h ||
        h->ndim != 2 || h->shape[1] != 7 || rf_obj_get_int(o, "t", &t) ||
        rf_obj_get_int(r, "epoch", &epoch) || rf_obj_get_int(r, "step", &step) ||
        (rf_obj_get(r, "best") && !best))
        return rf_errf(err, RF_ECORRUPT, "checkpoint lacks a complete training state");
    if (rf_opt_parse(kind) != tr->opt.cfg.kind)
        return rf_errf(err, RF_EINVAL, "checkpoint was trained with %s, this task uses %s",
                       kind, rf_opt_name(tr->opt.cfg.kind));
    if ((uint64_t)epoch != h->shape[0])
        return rf_errf(err, RF_ECORRUPT, "checkpoint history has %llu epochs, epoch is %lld",
                       (unsigned long long)h->shape[0], (long long)epoch);
    rf_obj_get_int(r, "best_epoch", &best_epoch);
    rf_obj_get_int(r, "bad_epochs", &bad);
    rf_obj_get_int(r, "stop_reason", &reason);
    rf_obj_get_float(r, "best_metric", &best_metric);
    rf_obj_get_float(r, "best_tie", &best_tie);
    rf_obj_get_float(r, "lr_scale", &lr_scale);

    rf_epoch_stats *hist = NULL;
    if (epoch > 0) {
        hist = malloc((size_t)epoch * sizeof *hist);
        if (!hist)
            return rf_errf(err, RF_ENOMEM, "history: out of memory");
        const double *hd = h->data;
        for (int64_t i = 0; i < epoch; i++) {
            const double *row = hd + i * 7;
            hist[i] = (rf_epoch_stats){(int64_t)row[0], row[1], row[2], row[3], row[4],
                                       row[5], row[6]};
        }
    }
    if (best) {
        if (!tr->best && !(tr->best = malloc(n * sizeof(float)))) {
            free(hist);
            return rf_errf(err, RF_ENOMEM, "best parameters: out of memory");
        }
        memcpy(tr->best, best->data, n * sizeof(float));
    }
    memcpy(tr->net.params, c->params, n * sizeof(float));
    memcpy(tr->opt.m, m->data, n * sizeof(float));
    memcpy(tr->opt.v, v->data, n * sizeof(float));
    tr->opt.t = t;
    memcpy(tr->rng.s, rng->data, sizeof tr->rng.s);
    free(tr->history);
    tr->history = hist;
    tr->n_history = (size_t)epoch;
    tr->epoch = epoch;
    tr->step = step;
    tr->best_epoch = best_epoch;
    tr->bad_epochs = (int)bad;
    tr->stop_reason = (int)reason;
    tr->best_metric = best_metric;
    tr->best_tie = best_tie;
    tr->lr_scale = lr_scale;
    return 0;
}

int rf_checkpoint_load_layers(rf_trainer *tr, const rf_checkpoint *c, size_t n_layers,
                              rf_err *err)
{
    if (n_layers > c->spec.n_layers || n_layers > tr->net.spec.n_layers)
        return rf_errf(err, RF_EINVAL, "incompatible checkpoint: cannot copy %zu layers",
                       n_layers);
    size_t off = 0;
    for (size_t l = 0; l < n_layers; l++) {
        rf_layer *L = &tr->net.layers[l];
        size_t in = c->spec.sizes[l], out = c->spec.sizes[l + 1];
        if (in != L->in || out != L->out)
            return rf_errf(err, RF_EINVAL, "incompatible checkpoint: layer %zu is %zux%zu "
                           "there, %zux%zu here", l, in, out, L->in, L->out);
        memcpy(L->W, c->params + off, (in * out + out) * sizeof(float));
        off += in * out + out;
    }
    return 0;
}

int rf_checkpoint_transfer_spec(const rf_checkpoint *c, const rf_mlp_spec *want, int mode,
                                rf_mlp_spec *out, size_t *n_copy, rf_err *err)
{
    const rf_mlp_spec *have = &c->spec;
    if (have->sizes[0] != want->sizes[0])
        return rf_errf(err, RF_EINVAL, "incompatible checkpoint: its network takes %zu "
                       "inputs, the data has %zu features", have->sizes[0], want->sizes[0]);
    size_t k_have = have->sizes[have->n_layers], k_want = want->sizes[want->n_layers];
    *out = *have;
    if (mode == RF_TRANSFER_NONE || (k_have == k_want && have->loss == want->loss &&
                                     mode != RF_TRANSFER_ADD)) {
        if (k_have != k_want || have->loss != want->loss)
            return rf_errf(err, RF_EINVAL, "incompatible checkpoint: its network has %zu "
                           "%s outputs, the data needs %zu %s outputs (set transfer=replace "
                           "or transfer=add to retarget it)", k_have,
                           rf_loss_name(have->loss), k_want, rf_loss_name(want->loss));
        *n_copy = have->n_layers;
        return 0;
    }
    out->out_act = want->out_act;
    out->loss = want->loss;
    if (mode == RF_TRANSFER_REPLACE) {
        out->sizes[out->n_layers] = k_want;
        *n_copy = have->n_layers - 1;
        return 0;
    }
    if (have->n_layers + 1 > RF_MLP_MAXLAYERS)
        return rf_errf(err, RF_EINVAL, "cannot add a layer to a %zu-layer network",
                       have->n_layers);
    /* ADD: the old output layer becomes hidden, so it takes the hidden act */
    out->n_layers++;
    out->sizes[out->n_layers] = k_want;
    *n_copy = have->n_layers;
    return 0;
}
