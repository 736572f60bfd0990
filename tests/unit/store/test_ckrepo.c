/* Unit tests for the checkpoint repository on a file:// store: exact
 * rebuilds (NaN payloads, signed zeros, every tensor type), dedup across
 * runs, the keyframe interval, shape changes, damaged and truncated chunks
 * named by verify, refs, the registry's gate and rollback, and gc racing a
 * writer never deleting a referenced chunk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/rf_ckrepo.h"
#include "store/rf_codec.h"
#include "rf_test.h"

typedef struct fx {
    char dir[64], url[128];
    rf_ckrepo *r;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rf-ckrepo-test.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->url, sizeof f->url, "file://%s/repo", f->dir);
    rf_ckrepo_opts o;
    rf_ckrepo_opts_default(&o);
    o.keyframe_every = 3;
    o.block_bytes = 4096;
    rf_err err = {0};
    if (rf_ckrepo_open(f->url, NULL, &o, &f->r, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    rf_ckrepo_close(f->r);
    int rc = rf_test_rmtree(f->dir);
    free(f);
    return rc;
}

/* A checkpoint-like artifact: f32 params with special values, f64, i64,
 * i32 and u8 tensors, scalars. step changes the params slightly. */
static void write_ckpt(const char *path, int step, size_t n)
{
    rf_obj *m = rf_obj_map();
    uint64_t sh[1] = {n}, sh2[2] = {(uint64_t)step + 1, 3}, four[1] = {4};
    rf_obj *p = rf_obj_tensor_new(RF_F32, 1, sh);
    float *f = p->u.t.data;
    for (size_t i = 0; i < n; i++)
        f[i] = (float)((double)(i % 97) * 0.001 + step * 1e-5 * (double)(i % 7));
    uint32_t nan_payload = 0x7fc0beefu, negzero = 0x80000000u;
    memcpy(&f[1], &nan_payload, 4);
    memcpy(&f[2], &negzero, 4);
    rf_obj_set(m, "params", p);
    rf_obj *h = rf_obj_tensor_new(RF_F64, 2, sh2);
    ((double *)h->u.t.data)[0] = -0.0;
    rf_obj_set(m, "history", h);
    rf_obj *rng = rf_obj_tensor_new(RF_I64, 1, four);
    ((int64_t *)rng->u.t.data)[0] = step;
    rf_obj_set(m, "rng", rng);
    rf_obj *arr = rf_obj_array();
    rf_obj_push(arr, rf_obj_tensor_new(RF_I32, 1, four));
    rf_obj_push(arr, rf_obj_tensor_new(RF_U8, 1, four));
    rf_obj_push(arr, rf_obj_str("x"));
    rf_obj_set(m, "list", arr);
    rf_obj_set(m, "step", rf_obj_int(step));
    rf_obj_set(m, "lr", rf_obj_float(-0.0));
    rf_err err = {0};
    assert_int_equal(rf_artifact_write(path, "ruvflow/checkpoint", m, NULL, NULL, &err), 0);
    rf_obj_free(m);
}

static int files_equal(const char *a, const char *b)
{
    char ha[RF_SHA256_HEX], hb[RF_SHA256_HEX];
    return !rf_sha256_file(a, ha) && !rf_sha256_file(b, hb) && !strcmp(ha, hb);
}

static void commit(fx *f, const char *path, const char *parent, const char *branch,
                   char id[RF_SHA256_HEX], rf_ckpt_stats *st)
{
    rf_ckpt_commit c = {{parent, NULL}, "m", NULL, branch};
    rf_err err = {0};
    int rc = rf_ckrepo_commit_file(f->r, path, &c, id, st, &err);
    if (rc)
        fprintf(stderr, "commit: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void test_roundtrip_and_keyframes(void **state)
{
    fx *f = *state;
    char path[128], out[128], id[8][RF_SHA256_HEX];
    rf_ckpt_stats st;
    rf_err err = {0};
    for (int s = 0; s < 7; s++) {
        snprintf(path, sizeof path, "%s/c%d.art", f->dir, s);
        write_ckpt(path, s, 5000);
        commit(f, path, s ? id[s - 1] : NULL, "main", id[s], &st);
        /* keyframe_every 3: versions 0, 3, 6 are keyframes */
        assert_int_equal(st.keyframe, s % 3 == 0);
        if (s % 3)
            assert_true(st.delta_chunks > 0);
    }
    for (int s = 0; s < 7; s++) {
        snprintf(path, sizeof path, "%s/c%d.art", f->dir, s);
        snprintf(out, sizeof out, "%s/out%d.art", f->dir, s);
        assert_int_equal(rf_ckrepo_checkout(f->r, id[s], out, &err), 0);
        assert_true(files_equal(path, out));
    }
    char got[RF_SHA256_HEX];
    assert_int_equal(rf_ckrepo_resolve(f->r, "main~2", got, &err), 0);
    assert_string_equal(got, id[4]);
    char pfx[13];
    snprintf(pfx, sizeof pfx, "%.12s", id[2]);
    assert_int_equal(rf_ckrepo_resolve(f->r, pfx, got, &err), 0);
    assert_string_equal(got, id[2]);
    assert_int_equal(rf_ckrepo_resolve(f->r, "nosuch", got, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
}

static void test_dedup_across_runs_and_shape_change(void **state)
{
    fx *f = *state;
    char path[128], a[RF_SHA256_HEX], b[RF_SHA256_HEX];
    rf_ckpt_stats st;
    snprintf(path, sizeof path, "%s/x.art", f->dir);
    write_ckpt(path, 4, 5000);
    commit(f, path, NULL, "run1", a, &st);
    assert_true(st.new_chunks > 0);
    /* the same checkpoint in another run: nothing new is stored */
    commit(f, path, NULL, "run2", b, &st);
    assert_int_equal(st.new_chunks, 0);
    assert_int_equal(st.stored_bytes, 0);
    /* a checkpoint whose params changed shape: a keyframe, said so */
    write_ckpt(path, 5, 6000);
    commit(f, path, a, "run1", b, &st);
    assert_non_null(strstr(st.note, "params"));
    assert_non_null(strstr(st.note, "keyframe"));
    rf_err err = {0};
    assert_int_equal(rf_ckrepo_checkout(f->r, b, NULL, &err), 0);
}

static void corrupt_first_chunk(fx *f, const char *id, int truncate)
{
    json_t *v;
    rf_err err = {0};
    assert_int_equal(rf_ckrepo_version(f->r, id, &v, &err), 0);
    const char *blk = json_string_value(json_array_get(
        json_object_get(json_array_get(json_object_get(v, "tensors"), 0), "blocks"), 0));
    char file[512];
    snprintf(file, sizeof file, "%s/repo/chunks/%.2s/%s", f->dir, blk, blk);
    FILE *fp = fopen(file, "r+b");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    if (truncate) {
        assert_int_equal(ftruncate(fileno(fp), n - 3), 0);
    } else {
        fseek(fp, n - 2, SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, n - 2, SEEK_SET);
        fputc(c ^ 0x40, fp);
    }
    fclose(fp);
    json_decref(v);
}

static void test_verify_names_damaged_chunk(void **state)
{
    fx *f = *state;
    char path[128], id[RF_SHA256_HEX];
    rf_ckpt_stats st;
    rf_err err = {0};
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/d%d.art", f->dir, t);
        write_ckpt(path, 40 + t, 3000 + 100 * (size_t)t);
        commit(f, path, NULL, NULL, id, &st);
        assert_int_equal(rf_ckrepo_checkout(f->r, id, NULL, &err), 0);
        corrupt_first_chunk(f, id, t);
        rf_ckrepo_close(f->r);   /* a fresh process: nothing cached */
        assert_int_equal(rf_ckrepo_open(f->url, NULL, NULL, &f->r, &err), 0);
        char out[160];
        snprintf(out, sizeof out, "%s/never.art", f->dir);
        assert_int_equal(rf_ckrepo_checkout(f->r, id, out, &err), -1);
        assert_int_equal(err.code, RF_ECORRUPT);
        assert_non_null(strstr(err.msg, "chunk chunks/"));
        assert_non_null(strstr(err.msg, "tensor params"));
        assert_int_equal(access(out, F_OK), -1);   /* nothing half-written */
    }
}

static void test_registry(void **state)
{
    fx *f = *state;
    char path[128], a[RF_SHA256_HEX], b[RF_SHA256_HEX], got[RF_SHA256_HEX];
    rf_ckpt_stats st;
    rf_err err = {0};
    json_t *meta_a = json_pack("{s:{s:f}}", "metrics", "accuracy", 0.95);
    json_t *meta_b = json_pack("{s:{s:f}}", "metrics", "accuracy", 0.80);
    snprintf(path, sizeof path, "%s/r.art", f->dir);
    write_ckpt(path, 1, 100);
    rf_ckpt_commit c = {{NULL, NULL}, "a", meta_a, "main"};
    assert_int_equal(rf_ckrepo_commit_file(f->r, path, &c, a, &st, &err), 0);
    write_ckpt(path, 2, 100);
    rf_ckpt_commit c2 = {{a, NULL}, "b", meta_b, "main"};
    assert_int_equal(rf_ckrepo_commit_file(f->r, path, &c2, b, &st, &err), 0);
    assert_int_equal(rf_ckrepo_promote(f->r, "production", a, "accuracy>=0.9", &err), 0);
    /* the gate fails: the channel does not move */
    assert_int_equal(rf_ckrepo_promote(f->r, "production", b, "accuracy>=0.9", &err), -1);
    assert_non_null(strstr(err.msg, "failed"));
    assert_int_equal(rf_ckrepo_promote(f->r, "production", b, "loss<1", &err), -1);
    assert_non_null(strstr(err.msg, "no metric"));
    assert_int_equal(rf_ckrepo_resolve(f->r, "channel:production", got, &err), 0);
    assert_string_equal(got, a);
    assert_int_equal(rf_ckrepo_promote(f->r, "production", b, NULL, &err), 0);
    assert_int_equal(rf_ckrepo_rollback(f->r, "production", got, &err), 0);
    assert_string_equal(got, a);
    json_t *ch;
    assert_int_equal(rf_ckrepo_channel(f->r, "production", &ch, &err), 1);
    assert_int_equal(json_array_size(json_object_get(ch, "history")), 3);
    json_decref(ch);
    /* a version a branch points at cannot be dropped */
    assert_int_equal(rf_ckrepo_drop(f->r, b, &err), -1);
    json_decref(meta_a);
    json_decref(meta_b);
}

typedef struct race {
    fx *f;
    int rounds, failed;
    char ids[40][RF_SHA256_HEX];
    int n;
} race;

static void *writer(void *ud)
{
    race *x = ud;
    rf_ckrepo *r;
    rf_err err = {0};
    if (rf_ckrepo_open(x->f->url, NULL, NULL, &r, &err))
        return NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/w.art", x->f->dir);
    for (int i = 0; i < x->rounds; i++) {
        /* alternating two contents: every other commit reuses old chunks */
        write_ckpt(path, i % 2, 3000);
        rf_ckpt_commit c = {{NULL, NULL}, "w", NULL, NULL};
        rf_ckpt_stats st;
        if (rf_ckrepo_commit_file(r, path, &c, x->ids[x->n], &st, &err))
            x->failed++;
        else
            x->n++;
        if (i == 0) {   /* orphan the first version: its chunks become garbage */
            rf_ckrepo_drop(r, x->ids[0], &err);
            x->n = 0;
        }
    }
    rf_ckrepo_close(r);
    return NULL;
}

static void test_gc_races_writer(void **state)
{
    fx *f = *state;
    race x = {f, 30, 0, {{0}}, 0};
    pthread_t th;
    pthread_create(&th, NULL, writer, &x);
    rf_ckrepo *g;
    rf_err err = {0};
    assert_int_equal(rf_ckrepo_open(f->url, NULL, NULL, &g, &err), 0);
    int ran = 0;
    for (int i = 0; i < 200; i++) {
        rf_ckgc_stats st;
        if (!rf_ckrepo_gc(g, 0, 0, &st, &err))
            ran++;
        else
            assert_int_equal(err.code, RF_ECONFLICT);
        usleep(1000);
    }
    pthread_join(th, NULL);
    rf_ckgc_stats st;
    int rc = rf_ckrepo_gc(g, 0, 0, &st, &err);
    if (rc)
        fprintf(stderr, "gc: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(x.failed, 0);
    assert_true(ran > 0);
    /* every version still there rebuilds */
    for (int i = 0; i < x.n; i++)
        assert_int_equal(rf_ckrepo_checkout(g, x.ids[i], NULL, &err), 0);
    rf_ckrepo_close(g);
}

static void test_gc_grace_and_sweep(void **state)
{
    fx *f = *state;
    char path[128], id[RF_SHA256_HEX];
    rf_ckpt_stats cs;
    rf_ckgc_stats st;
    rf_err err = {0};
    snprintf(path, sizeof path, "%s/g.art", f->dir);
    write_ckpt(path, 9, 3000);
    commit(f, path, NULL, NULL, id, &cs);
    assert_int_equal(rf_ckrepo_drop(f->r, id, &err), 0);
    /* within the grace period nothing is deleted */
    assert_int_equal(rf_ckrepo_gc(f->r, 3600, 0, &st, &err), 0);
    assert_int_equal(st.deleted_chunks, 0);
    assert_int_equal(st.young_chunks, cs.new_chunks);
    assert_int_equal(rf_ckrepo_gc(f->r, 0, 1, &st, &err), 0);   /* dry run */
    assert_int_equal(st.deleted_chunks, cs.new_chunks);
    assert_int_equal(rf_ckrepo_gc(f->r, 0, 0, &st, &err), 0);
    assert_int_equal(st.deleted_chunks, cs.new_chunks);
    assert_int_equal(rf_ckrepo_gc(f->r, 0, 0, &st, &err), 0);
    assert_int_equal(st.deleted_chunks, 0);
}

/* A damaged repository whose delta chain loops (a base chunk replaced by
 * its own delta) fails cleanly instead of recursing forever. */
static void test_delta_loop_refused(void **state)
{
    fx *f = *state;
    char path[128], id[2][RF_SHA256_HEX];
    rf_ckpt_stats st;
    rf_err err = {0};
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/loop%d.art", f->dir, s);
        write_ckpt(path, s, 3000);
        commit(f, path, s ? id[0] : NULL, NULL, id[s], &st);
    }
    json_t *v[2];
    for (int s = 0; s < 2; s++)
        assert_int_equal(rf_ckrepo_version(f->r, id[s], &v[s], &err), 0);
    const char *b[2];
    for (int s = 0; s < 2; s++)
        b[s] = json_string_value(json_array_get(json_object_get(
            json_array_get(json_object_get(v[s], "tensors"), 0), "blocks"), 0));
    assert_string_not_equal(b[0], b[1]);
    char from[512], to[512], cmd[1200];
    snprintf(from, sizeof from, "%s/repo/chunks/%.2s/%s", f->dir, b[1], b[1]);
    snprintf(to, sizeof to, "%s/repo/chunks/%.2s/%s", f->dir, b[0], b[0]);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);   /* base := the delta on it */
    assert_int_equal(system(cmd), 0);
    rf_ckrepo_close(f->r);
    assert_int_equal(rf_ckrepo_open(f->url, NULL, NULL, &f->r, &err), 0);
    assert_int_equal(rf_ckrepo_checkout(f->r, id[1], NULL, &err), -1);
    assert_int_equal(err.code, RF_ECORRUPT);
    assert_non_null(strstr(err.msg, "delta chain"));
    json_decref(v[0]);
    json_decref(v[1]);
}

/* Retention: dropping the first versions of a delta chain, after rebase,
 * frees their chunks, and every kept version still verifies bit-exact. The
 * same drop without rebase frees much less (the kept deltas pin them). */
static void test_rebase_frees_dropped_chunks(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    rf_ckgc_stats gs[2];
    for (int rebase = 0; rebase < 2; rebase++) {
        char url[160], path[128], id[3][RF_SHA256_HEX];
        snprintf(url, sizeof url, "%s%d", f->url, rebase);
        rf_ckrepo_opts o;
        rf_ckrepo_opts_default(&o);
        o.block_bytes = 4096;   /* keyframe_every 8: one chain of 3 */
        rf_ckrepo *r;
        assert_int_equal(rf_ckrepo_open(url, NULL, &o, &r, &err), 0);
        for (int s = 0; s < 3; s++) {
            snprintf(path, sizeof path, "%s/rb%d.art", f->dir, s);
            write_ckpt(path, s, 6000);
            rf_ckpt_commit c = {{s ? id[s - 1] : NULL, NULL}, "m", NULL, "main"};
            rf_ckpt_stats st;
            assert_int_equal(rf_ckrepo_commit_file(r, path, &c, id[s], &st, &err), 0);
            assert_int_equal(st.keyframe, s == 0);
        }
        json_t *drop = json_pack("[s,s]", id[0], id[1]);
        if (rebase) {
            rf_ckrebase_stats rb;
            assert_int_equal(rf_ckrepo_rebase(r, drop, &rb, &err), 0);
            assert_true(rb.rewritten >= 2);   /* the delta blocks of params */
        }
        for (int s = 0; s < 2; s++)
            assert_int_equal(rf_ckrepo_drop(r, id[s], &err), 0);
        json_decref(drop);
        assert_int_equal(rf_ckrepo_gc(r, 0, 0, &gs[rebase], &err), 0);
        rf_ckrepo_close(r);   /* a fresh process reads what is stored */
        assert_int_equal(rf_ckrepo_open(url, NULL, &o, &r, &err), 0);
        snprintf(path, sizeof path, "%s/rb-out.art", f->dir);
        int rc = rf_ckrepo_checkout(r, id[2], path, &err);
        if (rc)
            fprintf(stderr, "checkout: %s\n", err.msg);
        assert_int_equal(rc, 0);
        char orig[128];
        snprintf(orig, sizeof orig, "%s/rb2.art", f->dir);
        assert_true(files_equal(path, orig));
        rf_ckrepo_close(r);
    }
    /* without rebase only the skeletons and the unshared blocks go */
    assert_true(gs[1].deleted_chunks > gs[0].deleted_chunks);
    assert_true(gs[1].deleted_bytes > 2 * gs[0].deleted_bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_and_keyframes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_across_runs_and_shape_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_names_damaged_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_races_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_grace_and_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebase_frees_dropped_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delta_loop_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
