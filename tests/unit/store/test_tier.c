/* Unit tests for rf_tier on file:// tiers: placing, locating, moving in
 * both directions, no loss when a copy fails or does not verify, and the
 * cold-read states (through a fake store that emulates S3's archive
 * semantics on top of a file:// store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/rf_tier.h"
#include "rf_test.h"

typedef struct fx {
    char dir[64];
    rf_config cfg;
    rf_tiers t;
} fx;

static void set_tier(rf_config *c, int tier, const char *dir, const char *sub)
{
    free(c->tiers[tier].url);
    char url[256];
    snprintf(url, sizeof url, "file://%s/%s", dir, sub);
    c->tiers[tier].url = rf_xstrdup(url);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rf-tier-test.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char store[128];
    snprintf(store, sizeof store, "file://%s/store", f->dir);
    setenv("RUVFLOW_STORE", store, 1);
    setenv("RUVFLOW_CONFIG", "/dev/null", 1);
    rf_err err = {0};
    if (rf_config_load(&f->cfg, NULL, &err) || rf_tiers_open(&f->t, &f->cfg, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    rf_tiers_close(&f->t);
    rf_config_free(&f->cfg);
    if (rf_test_rmtree(f->dir))
        return -1;
    free(f);
    return 0;
}

static char *tier_get(rf_tiers *t, int tier, const char *key)
{
    rf_buf b = RF_BUF_INIT;
    rf_err err = {0};
    if (rf_tier_get_mem(t, tier, key, &b, &err)) {
        rf_buf_free(&b);
        return NULL;
    }
    return rf_buf_detach(&b, NULL);
}

static void test_defaults_and_locate(void **state)
{
    fx *f = *state;
    char want[160];
    snprintf(want, sizeof want, "file://%s/store/warm", f->dir);
    assert_string_equal(f->t.url[RF_TIER_WARM], want);
    for (int i = 0; i < RF_TIER_COUNT; i++)
        assert_null(f->t.bucket[i]);   /* only S3 tiers have a bucket */

    int tier;
    char *key;
    rf_err err = {0};
    char url[256];
    snprintf(url, sizeof url, "file://%s/store/cold/runs/r1/model.rfa", f->dir);
    assert_int_equal(rf_tiers_locate(&f->t, url, &tier, &key, &err), 0);
    assert_int_equal(tier, RF_TIER_COLD);
    assert_string_equal(key, "runs/r1/model.rfa");
    free(key);
    snprintf(url, sizeof url, "file://%s/store/coldish/x", f->dir);
    assert_int_equal(rf_tiers_locate(&f->t, url, &tier, &key, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    snprintf(url, sizeof url, "file://%s/store/hot/../cold/x", f->dir);
    assert_int_equal(rf_tiers_locate(&f->t, url, &tier, &key, &err), -1);
    snprintf(url, sizeof url, "file://%s/store/hot/", f->dir);
    assert_int_equal(rf_tiers_locate(&f->t, url, &tier, &key, &err), -1);
}

static void test_place_find_move(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_HOT, "a/ckpt", "weights", 7, &err), 0);
    int tier = -1;
    rf_store_meta m;
    assert_int_equal(rf_tier_find(&f->t, "a/ckpt", &tier, &m, &err), 1);
    assert_int_equal(tier, RF_TIER_HOT);
    assert_int_equal(m.size, 7);
    assert_int_equal(rf_tier_find(&f->t, "a/none", &tier, &m, &err), 0);

    /* hot -> cold: gone from hot, whole in cold. */
    assert_int_equal(rf_tier_transition(&f->t, "a/ckpt", RF_TIER_HOT, RF_TIER_COLD, &err), 0);
    assert_int_equal(rf_store_exists(f->t.store[RF_TIER_HOT], "a/ckpt", &err), 0);
    char *v = tier_get(&f->t, RF_TIER_COLD, "a/ckpt");
    assert_string_equal(v, "weights");
    free(v);
    assert_int_equal(rf_tier_find(&f->t, "a/ckpt", &tier, &m, &err), 1);
    assert_int_equal(tier, RF_TIER_COLD);

    /* Automatic transitions never go warmer; an explicit move may. */
    assert_int_equal(rf_tier_transition(&f->t, "a/ckpt", RF_TIER_COLD, RF_TIER_HOT, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_non_null(strstr(err.msg, "only go colder"));
    assert_int_equal(rf_store_exists(f->t.store[RF_TIER_COLD], "a/ckpt", &err), 1);
    assert_int_equal(rf_tier_move(&f->t, "a/ckpt", RF_TIER_COLD, RF_TIER_HOT, &err), 0);
    v = tier_get(&f->t, RF_TIER_HOT, "a/ckpt");
    assert_string_equal(v, "weights");
    free(v);
    assert_int_equal(rf_store_exists(f->t.store[RF_TIER_COLD], "a/ckpt", &err), 0);

    /* Moving within a tier, or a missing key. */
    assert_int_equal(rf_tier_move(&f->t, "a/ckpt", RF_TIER_HOT, RF_TIER_HOT, &err), 0);
    assert_int_equal(rf_tier_move(&f->t, "a/none", RF_TIER_HOT, RF_TIER_WARM, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    assert_int_equal(rf_tier_move(&f->t, "a/ckpt", RF_TIER_HOT, 7, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);

    /* get_file through a tier. */
    char path[160];
    snprintf(path, sizeof path, "%s/out", f->dir);
    assert_int_equal(rf_tier_get_file(&f->t, RF_TIER_HOT, "a/ckpt", path, &err), 0);
    assert_int_equal(access(path, R_OK), 0);
    assert_int_equal(rf_tier_put_file(&f->t, RF_TIER_WARM, "b/from-file", path, &err), 0);
    v = tier_get(&f->t, RF_TIER_WARM, "b/from-file");
    assert_string_equal(v, "weights");
    free(v);
}

/* A storage class on a file:// tier is refused, not silently dropped. */
static void test_class_on_file_tier(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    f->t.storage_class[RF_TIER_COLD] = rf_xstrdup("GLACIER");
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_COLD, "k", "x", 1, &err), -1);
    assert_int_equal(err.code, RF_EUNSUPP);
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_HOT, "k", "x", 1, &err), 0);
    assert_int_equal(rf_tier_move(&f->t, "k", RF_TIER_HOT, RF_TIER_COLD, &err), -1);
    assert_non_null(strstr(err.msg, "source kept"));
    assert_int_equal(rf_store_exists(f->t.store[RF_TIER_HOT], "k", &err), 1);
}

/* The destination cannot be written (its root is a regular file): the move
 * fails and the source stays. */
static void test_no_loss_when_copy_fails(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_HOT, "keep/me", "precious", 8, &err), 0);
    char blocker[160];
    snprintf(blocker, sizeof blocker, "%s/blocker", f->dir);
    FILE *fp = fopen(blocker, "w");
    fclose(fp);
    rf_store_close(f->t.store[RF_TIER_COLD]);
    char url[200];
    snprintf(url, sizeof url, "file://%s/blocker/cold", f->dir);
    assert_int_equal(rf_store_open(url, NULL, &f->t.store[RF_TIER_COLD], &err), 0);
    assert_int_equal(rf_tier_move(&f->t, "keep/me", RF_TIER_HOT, RF_TIER_COLD, &err), -1);
    assert_non_null(strstr(err.msg, "source kept"));
    char *v = tier_get(&f->t, RF_TIER_HOT, "keep/me");
    assert_string_equal(v, "precious");
    free(v);
}

/* ---- a fake store: file:// underneath, S3 archive semantics on top ---- */

typedef struct fake {
    rf_store *inner;
    int restore_state;     /* reported by head for every key */
    int restores;          /* restore calls seen */
    int restore_code;      /* error restore answers, 0 = success */
    int size_skew;         /* added to the size head reports */
    char last_class[32];   /* storage class of the last write or copy */
    int copies, deletes;
} fake;

static fake *FK(rf_store *s) { return s->impl; }

static int fk_get(rf_store *s, const char *key, uint64_t off, uint64_t len, rf_read_fn fn,
                  void *ud, rf_err *err)
{
    if (FK(s)->restore_state == 1 || FK(s)->restore_state == 2)
        return rf_errf(err, RF_ESTATE, "InvalidObjectState");
    return rf_store_get_stream(FK(s)->inner, key, off, len, fn, ud, err);
}

static int fk_head(rf_store *s, const char *key, rf_store_meta *m, rf_err *err)
{
    if (rf_store_head(FK(s)->inner, key, m, err))
        return -1;
    m->size += (uint64_t)FK(s)->size_skew;
    m->restore_state = FK(s)->restore_state;
    snprintf(m->storage_class, sizeof m->storage_class, "GLACIER");
    return 0;
}

static int fk_list(rf_store *s, const char *prefix, int rec, rf_list_fn fn, void *ud,
                   rf_err *err)
{
    return rf_store_list(FK(s)->inner, prefix, rec, fn, ud, err);
}

static int fk_del(rf_store *s, const char *key, rf_err *err)
{
    FK(s)->deletes++;
    return rf_store_delete(FK(s)->inner, key, err);
}

static int fk_copy(rf_store *s, const char *src, const char *dst, const rf_put_opts *o,
                   rf_err *err)
{
    FK(s)->copies++;
    snprintf(FK(s)->last_class, sizeof FK(s)->last_class, "%s",
             o && o->storage_class ? o->storage_class : "");
    return rf_store_copy(FK(s)->inner, src, dst, NULL, err);
}

static int fk_restore(rf_store *s, const char *key, int days, rf_err *err)
{
    FK(s)->restores++;
    if (FK(s)->restore_code)
        return rf_errf(err, FK(s)->restore_code, "RestoreAlreadyInProgress");
    return 0;
}

static int fk_wopen(rf_store *s, const char *key, const rf_put_opts *o, rf_store_writer **w,
                    rf_err *err)
{
    snprintf(FK(s)->last_class, sizeof FK(s)->last_class, "%s",
             o && o->storage_class ? o->storage_class : "");
    rf_store *in = FK(s)->inner;
    return in->ops->writer_open(in, key, NULL, w, err);
}

static void fk_close(rf_store *s)
{
    rf_store_close(FK(s)->inner);
    free(s->impl);
    free(s->url);
    free(s);
}

static const struct rf_store_ops fake_ops = {
    .scheme = "fake",
    .get_stream = fk_get,
    .head = fk_head,
    .list = fk_list,
    .del = fk_del,
    .copy = fk_copy,
    .restore = fk_restore,
    /* The inner writer's header names the inner store, so writes, commits
     * and aborts go straight to it. */
    .writer_open = fk_wopen,
    .close = fk_close,
};

/* Replace tier's store with a fake over the same directory. */
static fake *install_fake(fx *f, int tier)
{
    rf_store *s = rf_xcalloc(1, sizeof *s);
    fake *k = rf_xcalloc(1, sizeof *k);
    k->inner = f->t.store[tier];
    s->ops = &fake_ops;
    s->impl = k;
    s->url = rf_xstrdup(f->t.url[tier]);
    f->t.store[tier] = s;
    return k;
}

static void test_cold_read_states(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_COLD, "old/ckpt", "frozen", 6, &err), 0);
    fake *k = install_fake(f, RF_TIER_COLD);
    rf_buf b = RF_BUF_INIT;

    /* Archived: the read starts a restore and says so. */
    k->restore_state = 1;
    assert_int_equal(rf_tier_get_mem(&f->t, RF_TIER_COLD, "old/ckpt", &b, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_non_null(strstr(err.msg, "restore required"));
    assert_int_equal(k->restores, 1);

    /* Someone else already started it (S3: 409 RestoreAlreadyInProgress). */
    k->restore_code = RF_ECONFLICT;
    assert_int_equal(rf_tier_get_mem(&f->t, RF_TIER_COLD, "old/ckpt", &b, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_int_equal(k->restores, 2);

    /* Any other restore failure is reported as itself. */
    k->restore_code = RF_EAUTH;
    assert_int_equal(rf_tier_get_mem(&f->t, RF_TIER_COLD, "old/ckpt", &b, &err), -1);
    assert_int_equal(err.code, RF_EAUTH);

    /* In progress: no new restore, a clear state. */
    k->restore_state = 2;
    assert_int_equal(rf_tier_get_mem(&f->t, RF_TIER_COLD, "old/ckpt", &b, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_non_null(strstr(err.msg, "restore in progress"));
    assert_int_equal(k->restores, 3);
    /* ... and a move cannot start either, the object stays where it is. */
    assert_int_equal(rf_tier_move(&f->t, "old/ckpt", RF_TIER_COLD, RF_TIER_HOT, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_int_equal(k->deletes, 0);

    /* Restored: readable, and can be brought back to hot. */
    k->restore_state = 3;
    assert_int_equal(rf_tier_get_mem(&f->t, RF_TIER_COLD, "old/ckpt", &b, &err), 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "frozen", 6);
    rf_buf_free(&b);
    assert_int_equal(rf_tier_move(&f->t, "old/ckpt", RF_TIER_COLD, RF_TIER_HOT, &err), 0);
    assert_int_equal(k->deletes, 1);
    char *v = tier_get(&f->t, RF_TIER_HOT, "old/ckpt");
    assert_string_equal(v, "frozen");
    free(v);
}

/* The copy lands but does not match: it is removed, the source kept. */
static void test_no_loss_when_verify_fails(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_HOT, "v/obj", "0123456789", 10, &err), 0);
    fake *k = install_fake(f, RF_TIER_WARM);
    k->size_skew = -1;   /* the warm copy looks one byte short */
    assert_int_equal(rf_tier_move(&f->t, "v/obj", RF_TIER_HOT, RF_TIER_WARM, &err), -1);
    assert_int_equal(err.code, RF_ECORRUPT);
    assert_non_null(strstr(err.msg, "source kept"));
    assert_int_equal(rf_store_exists(f->t.store[RF_TIER_HOT], "v/obj", &err), 1);
    assert_int_equal(rf_store_exists(k->inner, "v/obj", &err), 0);
}

/* Two tiers at one URL differ only by class: an in-place copy with the new
 * class, and nothing deleted. */
static void test_same_url_class_change(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    rf_tiers_close(&f->t);
    set_tier(&f->cfg, RF_TIER_WARM, f->dir, "store/hot");
    assert_int_equal(rf_tiers_open(&f->t, &f->cfg, &err), 0);
    fake *k = install_fake(f, RF_TIER_WARM);
    f->t.storage_class[RF_TIER_WARM] = rf_xstrdup("STANDARD_IA");
    assert_int_equal(rf_tier_put_mem(&f->t, RF_TIER_HOT, "same", "data", 4, &err), 0);
    assert_int_equal(rf_tier_move(&f->t, "same", RF_TIER_HOT, RF_TIER_WARM, &err), 0);
    assert_int_equal(k->copies, 1);
    assert_string_equal(k->last_class, "STANDARD_IA");
    assert_int_equal(k->deletes, 0);
    char *v = tier_get(&f->t, RF_TIER_HOT, "same");
    assert_string_equal(v, "data");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_and_locate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_place_find_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_on_file_tier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_loss_when_copy_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cold_read_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_loss_when_verify_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_url_class_change, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
