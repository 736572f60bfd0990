/* rf_ckapply: retention of a branch, planned and applied: the versions of
 * its history (past dropped ones, through their tombstones) judged by
 * rf_ckretain_plan, then with apply: kept deltas rebased off the versions
 * to drop (rf_ckrebase.c), those dropped, the rest moved to their tiers
 * (rf_ckplace.c). Shared by `ruvflow ckpt retain` and the
 * checkpoint-compact worker. */
#include "store/rf_ckrepo_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The branch's first-parent history, newest first, each with its "id". */
static int history(rf_ckrepo *r, const char *ref, json_t **out, rf_err *err)
{
    char id[RF_SHA256_HEX];
    if (rf_ckrepo_resolve(r, ref, id, err))
        return -1;
    json_t *chain = json_array();
    for (;;) {
        json_t *v;
        if (rf_ckrepo_version(r, id, &v, err)) {
            char up[RF_SHA256_HEX];
            int t = err->code == RF_ENOTFOUND && json_array_size(chain)
                        ? rf_ckrepo_pruned_parent(r, id, up, err) : -1;
            if (t == 1) {   /* dropped before: walk on past its tombstone */
                snprintf(id, sizeof id, "%s", up);
                continue;
            }
            if (t == 0 || t == 2)
                break;      /* pruned before tombstones: no way past */
            json_decref(chain);
            return -1;
        }
        json_object_set_new(v, "id", json_string(id));
        json_array_append_new(chain, v);
        const char *p = json_string_value(json_array_get(json_object_get(v, "parents"), 0));
        if (!p)
            break;
        snprintf(id, sizeof id, "%s", p);
    }
    *out = chain;
    return 0;
}

/* The plan's input for version v: epoch, metric, age, bytes, tier. */
static int ver_of(rf_ckrepo *r, const json_t *v, const char *metric, time_t now, rf_ckver *out,
                  rf_err *err)
{
    json_t *meta = json_object_get(v, "meta");
    json_t *m = json_object_get(json_object_get(meta, "metrics"), metric);
    if (!m)
        m = json_object_get(meta, metric);
    double age = (double)(now - json_integer_value(json_object_get(v, "created"))) / 86400;
    int tier;
    int64_t since;
    if (rf_ckrepo_placement(r, json_string_value(json_object_get(v, "id")), &tier, &since,
                            err) < 0)
        return -1;
    *out = (rf_ckver){json_integer_value(json_object_get(meta, "epoch")),
                      json_is_number(m) ? json_number_value(m) : NAN, age,
                      (uint64_t)json_integer_value(json_object_get(v, "stored_bytes")), tier,
                      since ? (double)(now - since) / 86400 : age};
    return 0;
}

/* 1 if a registry channel points at id now (it must stay readable hot). */
static int on_channel(const json_t *channels, const char *id)
{
    const char *name;
    json_t *ch;
    json_object_foreach((json_t *)channels, name, ch) {
        const char *cur = json_string_value(json_object_get(ch, "current"));
        if (cur && !strcmp(cur, id))
            return 1;
    }
    return 0;
}

static int apply(rf_ckrepo *r, rf_ckretain_result *res, rf_err *err)
{
    json_t *channels;
    if (rf_ckrepo_channels(r, &channels, err))
        return -1;
    json_t *drop = json_array(), *place = json_object();
    for (size_t i = 0; i < res->n; i++) {
        rf_ckretain_row *w = &res->rows[i];
        if (w->place != RF_PLACE_HOT && on_channel(channels, w->id))
            w->place = RF_PLACE_HOT;   /* what a channel serves is not moved or dropped */
        if (w->place == RF_PLACE_DELETE)
            json_array_append_new(drop, json_string(w->id));
        else
            json_object_set_new(place, w->id, json_string(rf_ckplace_name(w->place)));
    }
    /* the kept versions' deltas leave the dropped ones' chunks first */
    int rc = json_array_size(drop) ? rf_ckrepo_rebase(r, drop, &res->rebase, err) : 0;
    for (size_t i = 0; i < json_array_size(drop) && !rc; i++)
        if (!(rc = rf_ckrepo_drop(r, json_string_value(json_array_get(drop, i)), err)))
            res->dropped++;
    if (!rc)
        rc = rf_ckrepo_place(r, place, &res->place, err);
    json_decref(drop);
    json_decref(place);
    json_decref(channels);
    return rc;
}

int rf_ckrepo_retain(rf_ckrepo *r, const char *ref, const rf_ckpolicy *p, const char *metric,
                     int do_apply, rf_ckretain_result *res, rf_err *err)
{
    memset(res, 0, sizeof *res);
    json_t *chain;
    if (history(r, ref, &chain, err))
        return -1;
    size_t n = json_array_size(chain);
    rf_ckver *vs = rf_xcalloc(n ? n : 1, sizeof *vs);
    int *pl = rf_xcalloc(n ? n : 1, sizeof *pl);
    res->rows = rf_xcalloc(n ? n : 1, sizeof *res->rows);
    time_t now = time(NULL);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)   /* oldest first */
        rc = ver_of(r, json_array_get(chain, n - 1 - i), metric, now, &vs[i], err);
    rf_ckpolicy pol = *p;
    pol.warm_is_ia = rf_ckrepo_warm_is_ia(r);
    if (!rc) {
        rf_ckretain_plan(vs, n, &pol, pl);
        for (size_t i = 0; i < n; i++) {
            rf_ckretain_row *w = &res->rows[i];
            snprintf(w->id, sizeof w->id, "%s", json_string_value(json_object_get(
                                                    json_array_get(chain, n - 1 - i), "id")));
            w->epoch = vs[i].epoch;
            w->metric = vs[i].metric;
            w->place = pl[i];
        }
        res->n = n;
    }
    if (!rc && do_apply)
        rc = apply(r, res, err);
    free(vs);
    free(pl);
    json_decref(chain);
    return rc ? rf_err_prefix(err, "retain %s", ref) : 0;
}

void rf_ckretain_result_free(rf_ckretain_result *res)
{
    free(res->rows);
    res->rows = NULL;
    res->n = 0;
}
