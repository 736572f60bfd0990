/* cmd_ckpt: `ruvflow ckpt commit|log|show|diff|branch|tag|checkout|verify|gc`
 * and `ruvflow model promote|rollback|ls`: compacted checkpoints, their
 * version graph and the model registry (docs/checkpoints.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "base/rf_config.h"
#include <unistd.h>

#include "ml/rf_ckpt_merge.h"
#include "store/rf_ckrepo.h"
#include "store/rf_ckretain.h"

typedef struct opts {
    const char *repo, *message, *branch, *parent, *out, *channel, *require, *base, *weight,
        *metric, *warm_class, *cold_class;
    long restore_wait, restore_poll_ms, warm_days;
    long keep_last, keep_best, keep_every;
    int apply, lower;
    long grace, keyframe_every, level, block_kib;
    int json, dry_run, del;
    json_t *meta;
    const char *pos[64];
    int n_pos;
} opts;

static int usage_err(const char *msg)
{
    fprintf(stderr, "ruvflow: %s (see ruvflow ckpt --help)\n", msg);
    return 2;
}

static const char ckpt_help[] =
    "usage: ruvflow ckpt [--repo URL] VERB ...\n"
    "  commit FILE... [-m MSG] [--branch B] [--parent REF] [--meta K=V]...\n"
    "         [--keyframe-every N] [--level ZSTD_LEVEL] [--block-kib KIB]\n"
    "  log [REF] [--json]          show REF [--json]         diff REF REF\n"
    "  branch [NAME [REF]] | branch -d NAME      tag [NAME REF] | tag -d NAME\n"
    "  merge REF REF [--weight W | --base REF] [-m MSG] [--branch B]   average, weighted, three-way\n"
    "  retain BRANCH [--keep-last 3] [--keep-best 1] [--keep-every N] [--metric val_acc]\n"
    "         [--lower-is-better] [--warm-days 7] [--apply] [--warm-class C] [--cold-class C]\n"
    "         plan; --apply deletes, rebases and moves versions to their tiers\n"
    "  checkout REF -o FILE        verify REF...             gc [--grace SECONDS] [--dry-run]\n"
    "usage: ruvflow model [--repo URL] promote REF --channel C [--require 'METRIC>=V']\n"
    "       ruvflow model rollback --channel C      ruvflow model ls [--json]\n"
    "Reads of cold chunks restore them first: [--restore-wait SECONDS] [--restore-poll-ms MS].\n"
    "REF: a version id or prefix, a branch, a tag, channel:NAME; REF~N goes N parents back.\n"
    "The repository defaults to $RUVFLOW_CKPT_REPO, else <store>/ckpt.\n";

static void meta_set(json_t *meta, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char key[128];
    size_t n = eq ? (size_t)(eq - kv) : 0;
    if (!eq || !n || n >= sizeof key)
        return;
    memcpy(key, kv, n);
    key[n] = 0;
    char *end;
    double d = strtod(eq + 1, &end);
    json_t *metrics = json_object_get(meta, "metrics");
    if (eq[1] && !*end && strcmp(key, "step") && strcmp(key, "epoch")) {
        if (!metrics)
            json_object_set_new(meta, "metrics", metrics = json_object());
        json_object_set_new(metrics, key, json_real(d));
    } else if (eq[1] && !*end) {
        json_object_set_new(meta, key, json_integer((json_int_t)d));
    } else {
        json_object_set_new(meta, key, json_string(eq + 1));
    }
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->grace = 3600;
    o->keep_last = 3;
    o->keep_best = 1;
    o->restore_wait = -1;
    o->warm_days = 7;
    o->meta = json_object();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(flag, dst) if (!strcmp(a, flag)) { if (!v) return usage_err(flag " needs a value"); dst = v; i++; continue; }
        ARG("--repo", o->repo)
        ARG("-m", o->message)
        ARG("--message", o->message)
        ARG("--branch", o->branch)
        ARG("--parent", o->parent)
        ARG("-o", o->out)
        ARG("--channel", o->channel)
        ARG("--require", o->require)
        ARG("--base", o->base)
        ARG("--weight", o->weight)
        ARG("--metric", o->metric)
        ARG("--warm-class", o->warm_class)
        ARG("--cold-class", o->cold_class)
#undef ARG
        if (!strcmp(a, "--meta") && v) {
            if (!strchr(v, '='))
                return usage_err("--meta wants KEY=VALUE");
            meta_set(o->meta, v);
            i++;
        } else if ((!strcmp(a, "--grace") || !strcmp(a, "--keyframe-every") ||
                    !strcmp(a, "--level") || !strcmp(a, "--block-kib")) && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || (a[2] != 'g' && n == 0))
                return usage_err("--grace, --keyframe-every, --level and --block-kib want a "
                                 "number");
            *(a[2] == 'g' ? &o->grace : a[2] == 'k' ? &o->keyframe_every
              : a[2] == 'l' ? &o->level : &o->block_kib) = n;
            i++;
        } else if ((!strcmp(a, "--restore-wait") || !strcmp(a, "--restore-poll-ms")) && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || (a[10] == 'p' && n == 0))
                return usage_err("--restore-wait wants seconds, --restore-poll-ms a positive "
                                 "number");
            *(a[10] == 'p' ? &o->restore_poll_ms : &o->restore_wait) = n;
            i++;
        } else if (!strcmp(a, "--warm-days") && v) {
            char *end;
            o->warm_days = strtol(v, &end, 10);
            if (*end || o->warm_days < 0)
                return usage_err("--warm-days wants a number of days");
            i++;
        } else if ((!strcmp(a, "--keep-last") || !strcmp(a, "--keep-best") ||
                    !strcmp(a, "--keep-every")) && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0)
                return usage_err("--keep-last, --keep-best and --keep-every want a number");
            *(a[7] == 'l' ? &o->keep_last : a[7] == 'b' ? &o->keep_best : &o->keep_every) = n;
            i++;
        } else if (!strcmp(a, "--apply")) {
            o->apply = 1;
        } else if (!strcmp(a, "--lower-is-better")) {
            o->lower = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
        } else if (!strcmp(a, "-d")) {
            o->del = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ruvflow: unknown option %s\n", a);
            return 2;
        } else if (o->n_pos < 64) {
            o->pos[o->n_pos++] = a;
        } else {
            return usage_err("too many arguments");
        }
    }
    return 0;
}

static int open_repo(const opts *o, rf_config *cfg, rf_ckrepo **r, rf_err *err)
{
    if (rf_config_load(cfg, NULL, err))
        return -1;
    char url[2048];
    rf_ckrepo_url(cfg, o->repo, url, sizeof url);
    rf_ckrepo_opts ro;
    rf_ckrepo_opts_default(&ro);
    if (o->keyframe_every)
        ro.keyframe_every = (int)o->keyframe_every;
    if (o->level)
        ro.level = (int)o->level;
    if (o->block_kib)
        ro.block_bytes = (size_t)o->block_kib * 1024;
    ro.tier_class[1] = o->warm_class;
    ro.tier_class[2] = o->cold_class;
    if (o->restore_wait >= 0)
        ro.restore_wait_s = o->restore_wait;
    if (o->restore_poll_ms)
        ro.restore_poll_ms = o->restore_poll_ms;
    return rf_ckrepo_open(url, cfg, &ro, r, err);
}

static const char *meta_str(const json_t *v, char *buf, size_t n)
{
    const json_t *m = json_object_get(v, "meta");
    size_t o = 0;
    const char *k;
    json_t *x;
    buf[0] = 0;
    json_object_foreach((json_t *)m, k, x) {
        if (json_is_object(x))
            continue;
        char *s = json_dumps(x, JSON_ENCODE_ANY);
        o += (size_t)snprintf(buf + o, o < n ? n - o : 0, "%s%s=%s", o ? " " : "", k,
                              s ? s : "?");
        free(s);
    }
    json_object_foreach(json_object_get((json_t *)m, "metrics"), k, x)
        o += (size_t)snprintf(buf + o, o < n ? n - o : 0, "%s%s=%.4g", o ? " " : "", k,
                              json_number_value(x));
    return buf;
}

static void print_line(const char *id, const json_t *v)
{
    char meta[512], when[32];
    time_t t = (time_t)json_integer_value(json_object_get(v, "created"));
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
    printf("%.12s %s %s%s%s  %s\n", id, when,
           json_array_size(json_object_get(v, "parents")) > 1 ? "merge " : "",
           json_is_true(json_object_get(v, "keyframe")) ? "keyframe " : "",
           meta_str(v, meta, sizeof meta),
           json_string_value(json_object_get(v, "message")));
}

/* ---- verbs --------------------------------------------------------------- */

static int do_commit(rf_ckrepo *r, opts *o, rf_err *err)
{
    if (o->n_pos < 2)
        return rf_errf(err, RF_EINVAL, "ckpt commit: name at least one checkpoint file");
    char parent[RF_SHA256_HEX] = "", id[RF_SHA256_HEX];
    const char *pref = o->parent;
    int have = 0;
    if (pref) {
        if (rf_ckrepo_resolve(r, pref, parent, err))
            return -1;
        have = 1;
    } else if (o->branch) {
        have = rf_ckrepo_ref_get(r, "heads", o->branch, parent, err);
        if (have < 0)
            return -1;
    }
    for (int i = 1; i < o->n_pos; i++) {
        rf_ckpt_commit c = {{have ? parent : NULL, NULL}, o->message ? o->message : o->pos[i],
                            o->meta, o->branch};
        rf_ckpt_stats st;
        if (rf_ckrepo_commit_file(r, o->pos[i], &c, id, &st, err))
            return -1;
        printf("%s %s: %llu bytes -> %llu stored (%zu new chunks, %zu deltas, %zu reused)%s\n",
               id, o->pos[i], (unsigned long long)st.file_bytes,
               (unsigned long long)st.stored_bytes, st.new_chunks, st.delta_chunks,
               st.reused_chunks, st.keyframe ? " keyframe" : "");
        if (st.note[0])
            fprintf(stderr, "ruvflow: %s: %s\n", o->pos[i], st.note);
        memcpy(parent, id, sizeof id);
        have = 1;
    }
    return 0;
}

static int do_log(rf_ckrepo *r, opts *o, rf_err *err)
{
    char id[RF_SHA256_HEX];
    if (rf_ckrepo_resolve(r, o->n_pos > 1 ? o->pos[1] : "main", id, err))
        return -1;
    json_t *all = json_array();
    for (int n = 0; n < 100000; n++) {
        json_t *v;
        if (rf_ckrepo_version(r, id, &v, err)) {
            if (err->code != RF_ENOTFOUND || !n) {
                json_decref(all);
                return -1;
            }
            if (!o->json)
                printf("%.12s (pruned)\n", id);
            break;
        }
        const char *p = json_string_value(json_array_get(json_object_get(v, "parents"), 0));
        if (o->json)
            json_array_append_new(all, json_pack("{s:s,s:O}", "id", id, "version", v));
        else
            print_line(id, v);
        int more = p != NULL;
        if (p)
            snprintf(id, sizeof id, "%s", p);
        json_decref(v);
        if (!more)
            break;
    }
    if (o->json)
        json_dumpf(all, stdout, JSON_INDENT(2)), putchar('\n');
    json_decref(all);
    return 0;
}

static int do_show(rf_ckrepo *r, opts *o, rf_err *err)
{
    char id[RF_SHA256_HEX];
    json_t *v;
    if (o->n_pos != 2)
        return rf_errf(err, RF_EINVAL, "ckpt show: one REF");
    if (rf_ckrepo_resolve(r, o->pos[1], id, err) || rf_ckrepo_version(r, id, &v, err))
        return -1;
    if (o->json) {
        json_object_set_new(v, "id", json_string(id));
        json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    } else {
        char meta[512];
        printf("version  %s\nmessage  %s\nparents ", id,
               json_string_value(json_object_get(v, "message")));
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(v, "parents"), i, x)
            printf(" %.12s", json_string_value(x));
        printf("\nmeta     %s\npayload  %s (%lld bytes; artifact file %lld bytes)\n"
               "stored   %lld new bytes%s\ntensors\n", meta_str(v, meta, sizeof meta),
               json_string_value(json_object_get(v, "payload_sha256")),
               (long long)json_integer_value(json_object_get(v, "payload_bytes")),
               (long long)json_integer_value(json_object_get(v, "file_bytes")),
               (long long)json_integer_value(json_object_get(v, "stored_bytes")),
               json_is_true(json_object_get(v, "keyframe")) ? ", keyframe" : "");
        json_array_foreach(json_object_get(v, "tensors"), i, x) {
            char *ps = json_dumps(json_object_get(x, "path"), 0);
            char *sh = json_dumps(json_object_get(x, "shape"), 0);
            printf("  %-28s %s %s  %zu blocks\n", ps, json_string_value(json_object_get(x, "dtype")),
                   sh, json_array_size(json_object_get(x, "blocks")));
            free(ps);
            free(sh);
        }
        if (json_string_value(json_object_get(v, "note")))
            printf("note     %s\n", json_string_value(json_object_get(v, "note")));
    }
    json_decref(v);
    return 0;
}

static int do_diff(rf_ckrepo *r, opts *o, rf_err *err)
{
    char a[RF_SHA256_HEX], b[RF_SHA256_HEX];
    json_t *va, *vb;
    if (o->n_pos != 3)
        return rf_errf(err, RF_EINVAL, "ckpt diff: two REFs");
    if (rf_ckrepo_resolve(r, o->pos[1], a, err) || rf_ckrepo_resolve(r, o->pos[2], b, err) ||
        rf_ckrepo_version(r, a, &va, err))
        return -1;
    if (rf_ckrepo_version(r, b, &vb, err)) {
        json_decref(va);
        return -1;
    }
    size_t i, j, changed = 0;
    json_t *ta, *tb;
    json_array_foreach(json_object_get(vb, "tensors"), i, tb) {
        char *pb = json_dumps(json_object_get(tb, "path"), 0);
        json_t *match = NULL;
        json_array_foreach(json_object_get(va, "tensors"), j, ta) {
            char *pa = json_dumps(json_object_get(ta, "path"), 0);
            if (!strcmp(pa, pb))
                match = ta;
            free(pa);
        }
        const char *sb = json_string_value(json_object_get(tb, "sha256"));
        if (!match) {
            printf("+ %s (new)\n", pb);
            changed++;
        } else if (strcmp(sb, json_string_value(json_object_get(match, "sha256")))) {
            size_t nb = json_array_size(json_object_get(tb, "blocks")), same = 0;
            for (size_t k = 0; k < nb; k++) {
                const char *x = json_string_value(json_array_get(json_object_get(tb, "blocks"), k));
                const char *y = json_string_value(json_array_get(json_object_get(match, "blocks"), k));
                same += y && !strcmp(x, y);
            }
            printf("~ %s: %zu of %zu blocks changed\n", pb, nb - same, nb);
            changed++;
        }
        free(pb);
    }
    printf("%zu tensors differ\n", changed);
    json_decref(va);
    json_decref(vb);
    return 0;
}

static int do_refs(rf_ckrepo *r, opts *o, const char *kind, rf_err *err)
{
    char id[RF_SHA256_HEX];
    if (o->del) {
        if (o->n_pos != 2)
            return rf_errf(err, RF_EINVAL, "-d NAME");
        return rf_ckrepo_ref_delete(r, kind, o->pos[1], err);
    }
    if (o->n_pos == 1) {
        json_t *refs;
        const char *name;
        json_t *v;
        if (rf_ckrepo_refs(r, kind, &refs, err))
            return -1;
        json_object_foreach(refs, name, v)
            printf("%-24s %.12s\n", name, json_string_value(v));
        json_decref(refs);
        return 0;
    }
    if (o->n_pos > 3 || (!strcmp(kind, "tags") && o->n_pos != 3))
        return rf_errf(err, RF_EINVAL, "%s NAME REF", kind);
    if (rf_ckrepo_resolve(r, o->n_pos == 3 ? o->pos[2] : "main", id, err) ||
        rf_ckrepo_ref_set(r, kind, o->pos[1], id, err))
        return -1;
    printf("%s %s -> %s\n", strcmp(kind, "tags") ? "branch" : "tag", o->pos[1], id);
    return 0;
}

static int do_checkout(rf_ckrepo *r, opts *o, int verify_only, rf_err *err)
{
    char id[RF_SHA256_HEX];
    if (verify_only && o->n_pos > 2) {   /* several: one process, one block cache */
        for (int i = 1; i < o->n_pos; i++) {
            if (rf_ckrepo_resolve(r, o->pos[i], id, err) || rf_ckrepo_checkout(r, id, NULL, err))
                return -1;
            printf("%s: ok\n", id);
        }
        return 0;
    }
    if (o->n_pos != 2 || (!verify_only && !o->out))
        return rf_errf(err, RF_EINVAL, verify_only ? "ckpt verify REF" : "ckpt checkout REF -o FILE");
    if (rf_ckrepo_resolve(r, o->pos[1], id, err) ||
        rf_ckrepo_checkout(r, id, verify_only ? NULL : o->out, err))
        return -1;
    printf(verify_only ? "%s: ok\n" : "%s -> %s\n", id, o->out);
    return 0;
}

/* merge: check both (and the base) out, combine, commit with two parents */
static int do_merge(rf_ckrepo *r, opts *o, rf_err *err)
{
    if (o->n_pos != 3)
        return rf_errf(err, RF_EINVAL, "ckpt merge REF REF [--weight W | --base REF]");
    if (o->weight && o->base)
        return rf_errf(err, RF_EINVAL, "ckpt merge: --weight or --base, not both");
    double w = 0.5;
    char *end = NULL;
    if (o->weight && ((w = strtod(o->weight, &end)), *end || end == o->weight))
        return rf_errf(err, RF_EINVAL, "ckpt merge: --weight \"%s\" is not a number", o->weight);
    char ids[3][RF_SHA256_HEX], dir[256], f[4][300];
    const char *refs[3] = {o->pos[1], o->pos[2], o->base};
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/rf-merge.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir))
        return rf_err_errno(err, "mkdtemp %s", dir);
    int rc = 0;
    for (int i = 0; i < 4; i++)
        snprintf(f[i], sizeof f[i], "%s/%d.art", dir, i);
    for (int i = 0; i < 3 && !rc; i++)
        if (refs[i])
            rc = rf_ckrepo_resolve(r, refs[i], ids[i], err) ||
                 rf_ckrepo_checkout(r, ids[i], f[i], err);
    int kind = o->base ? RF_MERGE_THREEWAY : o->weight ? RF_MERGE_WEIGHTED : RF_MERGE_AVERAGE;
    if (!rc)
        rc = rf_ckpt_merge_files(f[0], f[1], o->base ? f[2] : NULL, kind, w, f[3], err);
    char id[RF_SHA256_HEX], msg[256];
    snprintf(msg, sizeof msg, "%s merge of %.12s and %.12s", kind == RF_MERGE_THREEWAY ? "three-way"
             : kind == RF_MERGE_WEIGHTED ? "weighted" : "average", ids[0], ids[1]);
    if (!rc) {
        rf_ckpt_commit c = {{ids[0], ids[1]}, o->message ? o->message : msg, o->meta, o->branch};
        rf_ckpt_stats st;
        rc = rf_ckrepo_commit_file(r, f[3], &c, id, &st, err);
    }
    if (!rc)
        printf("%s %s\n", id, o->message ? o->message : msg);
    for (int i = 0; i < 4; i++)
        unlink(f[i]);
    rmdir(dir);
    return rc;
}

/* retain: the policy's plan for a branch; --apply rebases, deletes what it
 * drops and moves the rest to their tiers (lib/store/rf_ckapply.c) */
static int do_retain(rf_ckrepo *r, opts *o, rf_err *err)
{
    if (o->n_pos != 2)
        return rf_errf(err, RF_EINVAL, "ckpt retain BRANCH [options]");
    rf_ckpolicy p;
    rf_ckpolicy_default(&p);
    p.keep_last = (size_t)o->keep_last;
    p.keep_best = (size_t)o->keep_best;
    p.keep_every = o->keep_every;
    p.higher_is_better = !o->lower;
    p.warm_days = (double)o->warm_days;
    const char *metric = o->metric ? o->metric : "val_acc";
    rf_ckretain_result res;
    int rc = rf_ckrepo_retain(r, o->pos[1], &p, metric, o->apply, &res, err);
    for (size_t i = 0; i < res.n; i++)
        printf("%.12s epoch %-4lld %s=%-8.4g %s\n", res.rows[i].id, (long long)res.rows[i].epoch,
               metric, res.rows[i].metric, rf_ckplace_name(res.rows[i].place));
    if (o->apply && !rc) {
        const rf_ckplace_stats *ps = &res.place;
        printf("%zu chunks of kept versions rewritten as keyframes (%llu bytes)\n",
               res.rebase.rewritten, (unsigned long long)res.rebase.rewritten_bytes);
        printf("chunks: %zu hot, %zu warm, %zu cold; moved %zu to hot, %zu to warm, %zu to "
               "cold, %zu small ones packed into %zu cold packs\n", ps->chunks[0],
               ps->chunks[1], ps->chunks[2], ps->moved[0], ps->moved[1], ps->moved[2],
               ps->packed, ps->packs);
    }
    if (!rc)
        printf("%s%zu of %zu versions %s\n", o->apply ? "" : "dry run: ", res.dropped, res.n,
               o->apply ? "deleted (their chunks go at the next gc), the rest in their tiers"
                        : "deleted and nothing moved (--apply to do it)");
    rf_ckretain_result_free(&res);
    return rc;
}

static int do_gc(rf_ckrepo *r, opts *o, rf_err *err)
{
    rf_ckgc_stats st;
    if (rf_ckrepo_gc(r, o->grace, o->dry_run, &st, err))
        return -1;
    printf("%zu versions, %zu live chunks, %zu unreferenced younger than %lds kept, "
           "%zu chunks (%llu bytes) %s\n", st.versions, st.live_chunks, st.young_chunks,
           o->grace, st.deleted_chunks, (unsigned long long)st.deleted_bytes,
           o->dry_run ? "would be deleted" : "deleted");
    return 0;
}

static int do_model(rf_ckrepo *r, opts *o, rf_err *err)
{
    const char *v = o->pos[0];
    char id[RF_SHA256_HEX];
    if (!strcmp(v, "ls")) {
        json_t *all;
        const char *name;
        json_t *ch;
        if (rf_ckrepo_channels(r, &all, err))
            return -1;
        if (o->json) {
            json_dumpf(all, stdout, JSON_INDENT(2));
            putchar('\n');
        }
        json_object_foreach(all, name, ch) {
            if (o->json)
                break;
            json_t *hist = json_object_get(ch, "history");
            json_t *last = json_array_get(hist, json_array_size(hist) - 1);
            printf("%-16s %.12s  (%s; %zu changes)\n", name,
                   json_string_value(json_object_get(ch, "current")),
                   json_string_value(json_object_get(last, "action")), json_array_size(hist));
        }
        json_decref(all);
        return 0;
    }
    if (!o->channel)
        return rf_errf(err, RF_EINVAL, "model %s: --channel NAME is required", v);
    if (!strcmp(v, "promote")) {
        if (o->n_pos != 2)
            return rf_errf(err, RF_EINVAL, "model promote REF --channel C");
        if (rf_ckrepo_resolve(r, o->pos[1], id, err) ||
            rf_ckrepo_promote(r, o->channel, id, o->require, err))
            return -1;
        printf("%s: %s\n", o->channel, id);
        return 0;
    }
    if (!strcmp(v, "rollback")) {
        if (rf_ckrepo_rollback(r, o->channel, id, err))
            return -1;
        printf("%s: rolled back to %s\n", o->channel, id);
        return 0;
    }
    return rf_errf(err, RF_EINVAL, "unknown model verb \"%s\"", v);
}

static int run(int argc, char **argv, int model, const char *help)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc || !o.n_pos || !strcmp(o.pos[0], "help")) {
        json_decref(o.meta);
        if (!rc)
            fputs(help, o.n_pos ? stdout : stderr);
        return rc ? rc : o.n_pos ? 0 : 2;
    }
    rf_config cfg = {0};
    rf_err err = {0};
    rf_ckrepo *r = NULL;
    const char *v = o.pos[0];
    if (open_repo(&o, &cfg, &r, &err)) {
        rc = -1;
    } else if (!model) {
        rc = !strcmp(v, "commit") ? do_commit(r, &o, &err) : !strcmp(v, "log") ? do_log(r, &o, &err)
           : !strcmp(v, "show") ? do_show(r, &o, &err) : !strcmp(v, "diff") ? do_diff(r, &o, &err)
           : !strcmp(v, "branch") ? do_refs(r, &o, "heads", &err)
           : !strcmp(v, "tag") ? do_refs(r, &o, "tags", &err)
           : !strcmp(v, "merge") ? do_merge(r, &o, &err)
           : !strcmp(v, "retain") ? do_retain(r, &o, &err)
           : !strcmp(v, "checkout") ? do_checkout(r, &o, 0, &err)
           : !strcmp(v, "verify") ? do_checkout(r, &o, 1, &err) : !strcmp(v, "gc") ? do_gc(r, &o, &err)
           : rf_errf(&err, RF_EINVAL, "unknown ckpt verb \"%s\"", v);
    } else {
        rc = do_model(r, &o, &err);
    }
    if (rc)
        fprintf(stderr, "ruvflow: %s\n", err.msg);
    rf_ckrepo_close(r);
    rf_config_free(&cfg);
    json_decref(o.meta);
    return rc ? rf_err_exit_status(&err) : 0;
}

RF_CMD(ckpt)
{
    return run(argc, argv, 0, ckpt_help);
}

RF_CMD(model)
{
    /* --registry URL names online learning's registry (cmd_model.c). */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--registry"))
            return cmd_model_online(argc, argv);
    return run(argc, argv, 1, ckpt_help);
}
