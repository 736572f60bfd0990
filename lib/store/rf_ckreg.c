/* rf_ckreg: the model registry: channels (production, staging, ...) that
 * point at a version, with every change kept in the channel's history, and
 * metric gates checked against a version's metadata before a promotion. */
#include "store/rf_ckrepo_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int channel_key(rf_ckrepo *r, const char *channel, char *key, size_t n, rf_err *err)
{
    size_t len = strlen(channel);
    if (!len || len > 100 || strspn(channel, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len ||
        channel[0] == '.')
        return rf_errf(err, RF_EINVAL, "bad channel name \"%s\" (letters, digits, - _ .)",
                       channel);
    rf_ckrepo_key(r, key, n, "channels/%s.json", channel);
    return 0;
}

int rf_ckrepo_channel(rf_ckrepo *r, const char *channel, json_t **out, rf_err *err)
{
    char key[256];
    *out = NULL;
    if (channel_key(r, channel, key, sizeof key, err))
        return -1;
    return rf_ckrepo_json_get(r, key, out, err);
}

/* The metric named in a gate: meta.metrics.NAME, else meta.NAME. */
static int meta_number(const json_t *version, const char *name, double *out)
{
    const json_t *meta = json_object_get(version, "meta");
    const json_t *v = json_object_get(json_object_get(meta, "metrics"), name);
    if (!json_is_number(v))
        v = json_object_get(meta, name);
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

int rf_ckpt_gate_check(const json_t *version, const char *gate, rf_err *err)
{
    static const char *const ops[] = {">=", "<=", "==", ">", "<"};
    char name[128];
    const char *op = NULL;
    size_t at = 0;
    for (const char *p = gate; *p && !op; p++)
        for (size_t k = 0; k < 5; k++)
            if (!strncmp(p, ops[k], strlen(ops[k]))) {
                op = ops[k];
                at = (size_t)(p - gate);
                break;
            }
    if (!op || !at || at >= sizeof name)
        return rf_errf(err, RF_EINVAL, "bad gate \"%s\" (want METRIC>=VALUE; ops >= > <= < ==)",
                       gate);
    memcpy(name, gate, at);
    name[at] = 0;
    char *end;
    const char *num = gate + at + strlen(op);
    double want = strtod(num, &end), have;
    if (end == num || *end)
        return rf_errf(err, RF_EINVAL, "bad gate \"%s\": \"%s\" is not a number", gate, num);
    if (meta_number(version, name, &have))
        return rf_errf(err, RF_EINVAL, "gate \"%s\": the version has no metric \"%s\"", gate,
                       name);
    int ok = !strcmp(op, ">=") ? have >= want : !strcmp(op, "<=") ? have <= want
           : !strcmp(op, "==") ? have == want : !strcmp(op, ">") ? have > want : have < want;
    if (!ok || isnan(have))
        return rf_errf(err, RF_EINVAL, "gate \"%s\" failed: %s is %.6g", gate, name, have);
    return 0;
}

static int channel_update(rf_ckrepo *r, const char *channel, const char *id,
                          const char *action, const char *gate, rf_err *err)
{
    char key[256];
    json_t *ch;
    if (channel_key(r, channel, key, sizeof key, err))
        return -1;
    int rc = rf_ckrepo_json_get(r, key, &ch, err);
    if (rc < 0)
        return -1;
    if (!ch)
        ch = json_pack("{s:s,s:[]}", "channel", channel, "history");
    json_t *h = json_pack("{s:s,s:s,s:I}", "version", id, "action", action, "at",
                          (json_int_t)time(NULL));
    const char *prev = json_string_value(json_object_get(ch, "current"));
    if (prev)
        json_object_set_new(h, "previous", json_string(prev));
    if (gate)
        json_object_set_new(h, "gate", json_string(gate));
    json_array_append_new(json_object_get(ch, "history"), h);
    json_object_set_new(ch, "current", json_string(id));
    rc = rf_ckrepo_json_put(r, key, ch, err);
    json_decref(ch);
    return rc;
}

int rf_ckrepo_promote(rf_ckrepo *r, const char *channel, const char *id, const char *gate,
                      rf_err *err)
{
    json_t *v;
    if (rf_ckrepo_version(r, id, &v, err))
        return rf_err_prefix(err, "promote");
    int rc = gate ? rf_ckpt_gate_check(v, gate, err) : 0;
    json_decref(v);
    if (rc)
        return rf_err_prefix(err, "promote %.12s to %s", id, channel);
    return channel_update(r, channel, id, "promote", gate, err);
}

int rf_ckrepo_rollback(rf_ckrepo *r, const char *channel, char id[RF_SHA256_HEX],
                       rf_err *err)
{
    json_t *ch;
    int rc = rf_ckrepo_channel(r, channel, &ch, err);
    if (rc <= 0)
        return rc ? -1 : rf_errf(err, RF_ENOTFOUND, "no channel \"%s\"", channel);
    /* the version current before the latest change that set it */
    const char *cur = json_string_value(json_object_get(ch, "current"));
    json_t *hist = json_object_get(ch, "history");
    const char *prev = NULL;
    for (size_t i = json_array_size(hist); i-- > 0 && !prev;) {
        json_t *h = json_array_get(hist, i);
        if (cur && !strcmp(json_string_value(json_object_get(h, "version")), cur))
            prev = json_string_value(json_object_get(h, "previous"));
    }
    if (prev)
        snprintf(id, RF_SHA256_HEX, "%s", prev);
    json_decref(ch);
    if (!prev)
        return rf_errf(err, RF_ENOTFOUND, "channel \"%s\" has no earlier version to roll "
                       "back to", channel);
    return channel_update(r, channel, id, "rollback", NULL, err);
}

static int ch_cb(void *ud, const char *key, const rf_store_meta *m)
{
    rf_cklist *x = ud;
    (void)m;
    const char *name = key + x->skip;
    size_t n = strlen(name);
    if (n > 5 && !strcmp(name + n - 5, ".json")) {
        json_t *o;
        if (rf_ckrepo_json_get(x->r, key, &o, x->err) == 1)
            json_object_set_new(x->out, json_string_value(json_object_get(o, "channel"))
                                            ? json_string_value(json_object_get(o, "channel"))
                                            : name, o);
    }
    return 0;
}

int rf_ckrepo_channels(rf_ckrepo *r, json_t **out, rf_err *err)
{
    rf_cklist x = {r, NULL, json_object(), 0, err};
    int rc = rf_ckrepo_list(&x, "channels/", ch_cb, err);
    *out = x.out;
    return rc;
}
