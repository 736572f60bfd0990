/* Unit tests for the online-learning modules: rf_tail (a growing file read
 * in pieces yields exactly the lines and dataset rows of reading it whole;
 * a shorter or replaced file starts over), rf_replay (sampling frequencies
 * follow priorities, IS weights, bounded size, artifact round trip, a
 * buffer that does not decode), rf_ewc (penalty gradient against finite
 * differences), rf_drift (PSI, Page-Hinkley fires on a step change and not
 * on a stationary seeded stream) and rf_online (weighted fit, the gate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "ml/rf_drift.h"
#include "ml/rf_ewc.h"
#include "ml/rf_extract.h"
#include "ml/rf_jscan.h"
#include "ml/rf_online.h"
#include "ml/rf_replay.h"
#include "ml/rf_sessions.h"
#include "ml/rf_tail.h"
#include "rf_test.h"

static char tmpdir[] = "/tmp/rf_test_online.XXXXXX";

static void tmp_path(char *out, size_t n, const char *leaf)
{
    snprintf(out, n, "%s/%s", tmpdir, leaf);
}

/* ---- rf_tail ---- */

typedef struct collected {
    rf_buf text;          /* every line followed by '\n' */
    size_t n;
    rf_extractor *x;      /* rows made of the lines, when set */
} collected;

static void feed_extractor(rf_extractor *x, const char *line, size_t len, uint64_t lineno)
{
    rf_jspan v;
    const char *why;
    size_t where;
    if (rf_jscan_validate(line, len, &v, &why, &where) == 0 &&
        rf_jspan_type(v) == RF_J_OBJECT)
        rf_extract_line(x, v, lineno);
}

static int collect(void *ud, const char *line, size_t len, uint64_t lineno, rf_err *err)
{
    (void)err;
    collected *c = ud;
    rf_buf_add(&c->text, line, len);
    rf_buf_adds(&c->text, "\n");
    c->n++;
    if (c->x)
        feed_extractor(c->x, line, len, lineno);
    return 0;
}

static const char *session_file(void)
{
    static char p[1024];
    const char *shared = getenv("RF_SHARED");
    snprintf(p, sizeof p,
             "%s/testdata/streamjson/presmihaylov__ccagent/services/fixtures/"
             "claude_response1.jsonl",
             shared ? shared : "../shared");
    return p;
}

static void read_whole(const char *path, size_t *size_out, char **data)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)sz + 1);
    assert_int_equal(fread(*data, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *size_out = (size_t)sz;
}

static void append_bytes(const char *path, const char *p, size_t n)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void rows_equal(const rf_rows *a, const rf_rows *b)
{
    assert_true(a->n > 0);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->nnz, b->nnz);
    assert_memory_equal(a->label, b->label, a->n * sizeof *a->label);
    assert_memory_equal(a->nz_off, b->nz_off, (a->n + 1) * sizeof *a->nz_off);
    assert_memory_equal(a->nz_idx, b->nz_idx, a->nnz * sizeof *a->nz_idx);
    assert_memory_equal(a->nz_val, b->nz_val, a->nnz * sizeof *a->nz_val);
}

/* The file grows in random pieces that cut lines anywhere; after every
 * piece the tail reader picks up what is complete. */
static void test_tail_growing_equals_whole(void **state)
{
    (void)state;
    size_t size;
    char *data;
    read_whole(session_file(), &size, &data);
    char path[512];
    tmp_path(path, sizeof path, "growing.jsonl");
    unlink(path);
    append_bytes(path, "", 0);

    rf_extract_opts xo = {0};
    collected whole = {RF_BUF_INIT, 0, rf_extract_new(&xo)};
    collected piece = {RF_BUF_INIT, 0, rf_extract_new(&xo)};
    rf_file_stats st1 = {0}, st2 = {0};
    st1.path = rf_xstrdup(path);
    st2.path = rf_xstrdup(path);
    rf_extract_begin_file(whole.x, &st1);
    rf_extract_begin_file(piece.x, &st2);

    /* whole: the ordinary line reader */
    rf_lines *r;
    rf_err e = {0};
    assert_int_equal(rf_lines_open(session_file(), 0, &r, &e), 0);
    char *line;
    size_t len;
    int flags;
    while (rf_lines_next(r, &line, &len, &flags, &e) == 1)
        collect(&whole, line, len, rf_lines_lineno(r), &e);
    rf_lines_close(r);

    rf_tail_pos pos = {0};
    rf_rng rng;
    rf_rng_seed(&rng, 7);
    size_t written = 0;
    int calls = 0;
    while (written < size) {
        size_t k = 1 + (size_t)rf_rng_below(&rng, 700);
        if (k > size - written)
            k = size - written;
        append_bytes(path, data + written, k);
        written += k;
        int restarted = 1;
        uint64_t pending = 0;
        /* round-trip the position as the watcher stores it */
        char s[RF_TAIL_POS_MAX];
        rf_tail_pos_format(&pos, s);
        assert_int_equal(rf_tail_pos_parse(s, &pos, &e), 0);
        assert_int_equal(
            rf_tail_read(path, &pos, 0, collect, &piece, &restarted, &pending, &e), 0);
        assert_int_equal(restarted, 0);
        assert_int_equal(pos.offset + pending, written);
        calls++;
    }
    assert_true(calls > 20);
    assert_int_equal(whole.n, piece.n);
    assert_int_equal(whole.text.len, piece.text.len);
    assert_memory_equal(whole.text.data, piece.text.data, whole.text.len);
    rf_extract_end_file(whole.x);
    rf_extract_end_file(piece.x);
    rf_extract_finish(whole.x);
    rf_extract_finish(piece.x);
    rows_equal(&rf_extract_result(whole.x)->tool_rows, &rf_extract_result(piece.x)->tool_rows);
    rf_extract_free(whole.x);
    rf_extract_free(piece.x);
    rf_file_stats_free(&st1);
    rf_file_stats_free(&st2);
    rf_buf_free(&whole.text);
    rf_buf_free(&piece.text);
    free(data);
}

static void write_file(const char *path, const char *s)
{
    unlink(path);
    append_bytes(path, s, strlen(s));
}

static void test_tail_truncated_and_replaced(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "t.jsonl");
    write_file(path, "{\"a\":1}\n{\"b\":2}\n{\"c\":");
    collected c = {RF_BUF_INIT, 0, NULL};
    rf_tail_pos pos = {0};
    int restarted;
    uint64_t pending;
    rf_err e = {0};
    assert_int_equal(rf_tail_read(path, &pos, 0, collect, &c, &restarted, &pending, &e), 0);
    assert_int_equal(c.n, 2);              /* the truncated last line waits */
    assert_int_equal(pending, 5);
    assert_int_equal(pos.lines, 2);
    /* nothing new: nothing delivered, position unchanged */
    rf_tail_pos before = pos;
    assert_int_equal(rf_tail_read(path, &pos, 0, collect, &c, &restarted, &pending, &e), 0);
    assert_int_equal(c.n, 2);
    assert_memory_equal(&before, &pos, sizeof pos);
    /* replaced by a shorter file: start over and say so */
    write_file(path, "{\"z\":9}\n");
    assert_int_equal(rf_tail_read(path, &pos, 0, collect, &c, &restarted, &pending, &e), 0);
    assert_int_equal(restarted, 1);
    assert_int_equal(c.n, 3);
    assert_int_equal(pos.lines, 1);
    /* replaced by a longer file with another head: start over too */
    write_file(path, "{\"y\":8}\n{\"x\":7}\n");
    assert_int_equal(rf_tail_read(path, &pos, 0, collect, &c, &restarted, &pending, &e), 0);
    assert_int_equal(restarted, 1);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.text.data + c.text.len - 16, "{\"y\":8}\n{\"x\":7}\n");
    /* a line over the cap is an error naming path:line */
    write_file(path, "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}\n");
    memset(&pos, 0, sizeof pos);
    assert_int_equal(rf_tail_read(path, &pos, 8, collect, &c, &restarted, &pending, &e), -1);
    assert_int_equal(e.code, RF_ETOOBIG);
    assert_non_null(strstr(e.msg, "t.jsonl:1"));
    /* bad stored positions */
    assert_int_equal(rf_tail_pos_parse("12:3", &pos, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    assert_int_equal(rf_tail_pos_parse("10:1:300:0", &pos, &e), -1);
    /* missing file */
    tmp_path(path, sizeof path, "missing.jsonl");
    assert_int_equal(rf_tail_read(path, &pos, 0, collect, &c, &restarted, &pending, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    rf_buf_free(&c.text);
}

static int fail_on_second(void *ud, const char *line, size_t len, uint64_t lineno, rf_err *err)
{
    (void)ud, (void)line, (void)len;
    if (lineno == 2)
        return rf_errf(err, RF_EIO, "sink full");
    return 0;
}

/* A consumer that fails keeps the position after the last line it took. */
static void test_tail_consumer_failure_loses_nothing(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "f.jsonl");
    write_file(path, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    rf_tail_pos pos = {0};
    int restarted;
    rf_err e = {0};
    assert_int_equal(rf_tail_read(path, &pos, 0, fail_on_second, NULL, &restarted, NULL, &e),
                     -1);
    assert_non_null(strstr(e.msg, "f.jsonl:2"));
    assert_int_equal(pos.lines, 1);
    assert_int_equal(pos.offset, 8);
}

/* ---- rf_replay ---- */

static void test_replay_frequencies_match_priorities(void **state)
{
    (void)state;
    rf_replay r;
    rf_err e = {0};
    assert_int_equal(rf_replay_init(&r, 8, 2, &e), 0);
    r.alpha = 1.0;
    r.eps = 0;
    double losses[8] = {1, 2, 3, 4, 0.5, 0.5, 8, 1};
    for (int i = 0; i < 8; i++) {
        float x[2] = {(float)i, 0};
        rf_replay_add(&r, x, i % 3, losses[i]);
    }
    double total = 0;
    for (int i = 0; i < 8; i++)
        total += rf_replay_priority(&r, (size_t)i);
    enum { K = 200000 };
    uint32_t *idx = malloc(K * sizeof *idx);
    float *w = malloc(K * sizeof *w);
    rf_rng rng;
    rf_rng_seed(&rng, 3);
    assert_int_equal(rf_replay_sample(&r, K, &rng, idx, w), K);
    size_t count[8] = {0};
    for (size_t j = 0; j < K; j++)
        count[idx[j]]++;
    for (int i = 0; i < 8; i++) {
        double p = rf_replay_priority(&r, (size_t)i) / total;
        double sd = sqrt(p * (1 - p) / K);
        assert_true(fabs((double)count[i] / K - p) < 5 * sd);
    }
    /* IS weights: (n P)^-beta normalized by the max -> the rarest row has 1 */
    float wmin = 2, wmax = 0;
    for (size_t j = 0; j < K; j++) {
        if (idx[j] == 4)
            assert_float_equal(w[j], 1.0f, 1e-6);
        wmin = fminf(wmin, w[j]);
        wmax = fmaxf(wmax, w[j]);
    }
    assert_float_equal(wmax, 1.0f, 1e-6);
    double expect = pow((0.5 / 8.0) / (8 / 8.0), r.beta);   /* w(row 6) / w(row 4) */
    assert_float_equal(wmin, expect, 1e-5);
    free(idx);
    free(w);
    rf_replay_free(&r);
}

static void test_replay_bounded_and_artifact(void **state)
{
    (void)state;
    rf_replay r, back;
    rf_err e = {0};
    assert_int_equal(rf_replay_init(&r, 4, 3, &e), 0);
    for (int i = 0; i < 10; i++) {
        float x[3] = {(float)i, (float)(2 * i), 1};
        rf_replay_add(&r, x, i, 0.1 * i);
    }
    assert_int_equal(r.n, 4);
    assert_int_equal(r.added, 10);
    /* the oldest rows were replaced: 6..9 are what is left */
    int seen[10] = {0};
    for (size_t i = 0; i < r.n; i++)
        seen[r.y[i]] = 1;
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], i >= 6);
    uint32_t idx[2] = {0, 1};
    double nl[2] = {5, 6};
    rf_replay_update(&r, idx, nl, 2);
    assert_float_equal(r.loss[1], 6, 0);

    char path[512];
    tmp_path(path, sizeof path, "replay.art");
    assert_int_equal(rf_replay_save(path, &r, &e), 0);
    assert_int_equal(rf_replay_load(path, &back, &e), 0);
    assert_int_equal(back.n, 4);
    assert_int_equal(back.cap, 4);
    assert_int_equal(back.next, r.next);
    assert_int_equal(back.added, 10);
    assert_memory_equal(back.X, r.X, 12 * sizeof(float));
    assert_memory_equal(back.y, r.y, 4 * sizeof(int32_t));
    assert_memory_equal(back.loss, r.loss, 4 * sizeof(double));
    rf_replay_free(&back);

    /* a buffer that does not decode: clear error naming the file */
    FILE *f = fopen(path, "r+b");
    fseek(f, 140, SEEK_SET);
    fputc(0x55, f);
    fputc(0xAA, f);
    fclose(f);
    assert_int_equal(rf_replay_load(path, &back, &e), -1);
    assert_non_null(strstr(e.msg, "replay.art"));
    assert_non_null(strstr(e.msg, "does not decode"));
    write_file(path, "not an artifact at all\n");
    assert_int_equal(rf_replay_load(path, &back, &e), -1);
    assert_non_null(strstr(e.msg, "replay.art"));
    assert_int_equal(rf_replay_init(&back, 0, 3, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    rf_replay_free(&r);
}

/* ---- rf_ewc ---- */

/* in -> hidden (act) -> out softmax classifier */
static rf_mlp_spec classifier(size_t in, size_t hidden, size_t out, int act)
{
    rf_mlp_spec s = {0};
    s.n_layers = 2;
    s.sizes[0] = in;
    s.sizes[1] = hidden;
    s.sizes[2] = out;
    s.hidden_act = act;
    s.out_act = RF_ACT_LINEAR;
    s.loss = RF_LOSS_SOFTMAX_CE;
    return s;
}

static void small_net(rf_mlp *net)
{
    rf_mlp_spec s = classifier(3, 5, 4, RF_ACT_TANH);
    rf_err e = {0};
    assert_int_equal(rf_mlp_init(net, &s, &e), 0);
    rf_rng rng;
    rf_rng_seed(&rng, 11);
    rf_mlp_init_weights(net, &rng);
    assert_int_equal(rf_mlp_reserve(net, 16, &e), 0);
}

static void random_rows(float *X, int32_t *y, float *T, size_t n, size_t in, size_t k,
                        uint64_t seed)
{
    rf_rng rng;
    rf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n * in; i++)
        X[i] = (float)rf_rng_normal(&rng);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)rf_rng_below(&rng, k);
        for (size_t j = 0; j < k; j++)
            T[i * k + j] = (int32_t)j == y[i];
    }
}

static void test_ewc_gradient_matches_finite_differences(void **state)
{
    (void)state;
    rf_mlp net;
    small_net(&net);
    float X[16 * 3], T[16 * 4];
    int32_t y[16];
    random_rows(X, y, T, 16, 3, 4, 5);
    rf_ewc ewc;
    rf_err e = {0};
    assert_int_equal(rf_ewc_fit(&ewc, &net, X, T, 16, &e), 0);
    double fsum = 0;
    for (size_t j = 0; j < ewc.n; j++) {
        assert_true(ewc.fisher[j] >= 0);
        fsum += ewc.fisher[j];
    }
    assert_true(fsum > 0);
    assert_float_equal(rf_ewc_penalty(&ewc, net.params, 3.0), 0.0, 0);
    /* move away from the anchor, then compare the analytic gradient of the
     * penalty with central differences in double precision */
    rf_rng rng;
    rf_rng_seed(&rng, 9);
    for (size_t j = 0; j < net.n_params; j++)
        net.params[j] += 0.3f * (float)rf_rng_normal(&rng);
    double lambda = 2.5;
    float *g = calloc(net.n_params, sizeof *g);
    rf_ewc_add_grad(&ewc, net.params, lambda, 1.0f, g);
    for (size_t j = 0; j < net.n_params; j++) {
        float keep = net.params[j], h = 1e-2f;
        net.params[j] = keep + h;
        double up = rf_ewc_penalty(&ewc, net.params, lambda);
        net.params[j] = keep - h;
        double down = rf_ewc_penalty(&ewc, net.params, lambda);
        net.params[j] = keep;
        double fd = (up - down) / (2.0 * h);
        assert_true(fabs(fd - g[j]) <= 1e-3 * (1 + fabs(fd)));
    }
    /* the Fisher diagonal is the mean squared per-row gradient */
    memcpy(net.params, ewc.anchor, net.n_params * sizeof *net.params);
    double f0 = 0;
    for (size_t r = 0; r < 16; r++) {
        rf_mlp_forward(&net, X + 3 * r, 1, 0, NULL);
        rf_mlp_backward(&net, T + 4 * r, 1, 1, 0, 0);
        f0 += (double)net.grads[0] * net.grads[0];
    }
    assert_float_equal(ewc.fisher[0], f0 / 16, 1e-6);
    free(g);
    rf_ewc_free(&ewc);
    rf_mlp_free(&net);
}

/* ---- rf_drift ---- */

static void test_psi(void **state)
{
    (void)state;
    double a[4] = {25, 25, 25, 25}, b[4] = {25, 25, 25, 25}, c[4] = {70, 10, 10, 10};
    assert_float_equal(rf_psi_counts(a, b, 4), 0, 1e-12);
    double expect = 0.45 * log(0.7 / 0.25) + 3 * (-0.15) * log(0.1 / 0.25);
    assert_float_equal(rf_psi_counts(a, c, 4), expect, 1e-9);
    int32_t ref[8] = {0, 1, 0, 1, 0, 1, 0, 1}, same[4] = {1, 0, 1, 0}, shifted[4] = {1, 1, 1, 1};
    assert_float_equal(rf_psi_labels(ref, 8, same, 4, 2), 0, 1e-12);
    assert_true(rf_psi_labels(ref, 8, shifted, 4, 2) > 1);

    enum { N = 2000, D = 3 };
    float *r = malloc(N * D * sizeof *r), *s = malloc(N * D * sizeof *s);
    rf_rng rng;
    rf_rng_seed(&rng, 1);
    for (size_t i = 0; i < N; i++) {
        r[i * D] = (float)rf_rng_normal(&rng);
        s[i * D] = (float)rf_rng_normal(&rng);
        r[i * D + 1] = 4;                           /* constant: skipped */
        s[i * D + 1] = 4;
        r[i * D + 2] = (float)rf_rng_normal(&rng);
        s[i * D + 2] = (float)rf_rng_normal(&rng) + 1.0f;   /* shifted */
    }
    rf_psi_summary sum;
    rf_psi_features(r, N, s, N, D, &sum);
    assert_int_equal(sum.compared, 2);
    assert_int_equal(sum.worst, 2);
    assert_true(sum.max > 0.25);
    rf_psi_features(r, N, r, N, D, &sum);
    assert_float_equal(sum.max, 0, 1e-12);
    free(r);
    free(s);
}

static void test_page_hinkley(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        rf_rng rng;
        rf_rng_seed(&rng, seed);
        rf_ph stationary, step;
        rf_ph_init(&stationary, 0.05, 25);
        rf_ph_init(&step, 0.05, 25);
        int fired_stationary = 0;
        for (int i = 0; i < 5000; i++)
            fired_stationary += rf_ph_update(&stationary, rf_rng_float(&rng) < 0.3f);
        assert_int_equal(fired_stationary, 0);
        uint64_t first = 0;
        for (int i = 0; i < 1000 && !first; i++) {
            double p = i < 500 ? 0.3 : 0.7;     /* the error rate steps up at 500 */
            if (rf_ph_update(&step, rf_rng_float(&rng) < p)) {
                first = step.fired_at;
                assert_true(i >= 500);
            }
        }
        assert_true(first > 500 && first < 700);
    }
}

/* ---- rf_online ---- */

static void test_online_fit_and_gate(void **state)
{
    (void)state;
    rf_train_opts to;
    rf_train_opts_default(&to);
    rf_mlp_spec s = classifier(2, 8, 2, RF_ACT_RELU);
    rf_trainer tr;
    rf_err e = {0};
    assert_int_equal(rf_trainer_init(&tr, &s, &to, &e), 0);
    enum { N = 400 };
    float X[N * 2];
    int32_t y[N];
    rf_rng rng;
    rf_rng_seed(&rng, 4);
    for (int i = 0; i < N; i++) {
        X[2 * i] = (float)rf_rng_normal(&rng);
        X[2 * i + 1] = (float)rf_rng_normal(&rng);
        y[i] = X[2 * i] + X[2 * i + 1] > 0;
    }
    double acc0, acc1;
    assert_int_equal(rf_online_score(&tr.net, X, y, N, NULL, NULL, &acc0, &e), 0);
    rf_online_opts o;
    rf_online_opts_default(&o);
    o.epochs = 20;
    o.lr = 1e-2;
    assert_int_equal(rf_online_fit(&tr, X, y, NULL, N, &o, NULL, &e), 0);
    assert_int_equal(rf_online_score(&tr.net, X, y, N, NULL, NULL, &acc1, &e), 0);
    assert_true(acc1 > 0.95);
    /* weight 0 rows do not move the network at all */
    float w[N] = {0};
    float *before = malloc(tr.net.n_params * sizeof *before);
    memcpy(before, tr.net.params, tr.net.n_params * sizeof *before);
    rf_optim_reset(&tr.opt);
    o.epochs = 1;
    to.optim.l2 = 0;
    tr.opt.cfg.l2 = 0;
    tr.opt.cfg.weight_decay = 0;
    assert_int_equal(rf_online_fit(&tr, X, y, w, N, &o, NULL, &e), 0);
    assert_memory_equal(before, tr.net.params, tr.net.n_params * sizeof *before);
    free(before);
    int32_t bad = 5;
    assert_int_equal(rf_online_fit(&tr, X, &bad, NULL, 1, &o, NULL, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    rf_trainer_free(&tr);

    rf_gate g = {0};
    g.tolerance = 0.01;
    g.cand_holdout = 0.70, g.prod_holdout = 0.705, g.n_holdout = 100;
    g.cand_newest = 0.60, g.prod_newest = 0.55, g.n_newest = 50;
    rf_gate_decide(&g);
    assert_int_equal(g.promote, 1);
    g.cand_holdout = 0.68;
    rf_gate_decide(&g);
    assert_int_equal(g.promote, 0);
    assert_non_null(strstr(g.reason, "kept production"));
    assert_non_null(strstr(g.reason, "holdout 0.680 vs 0.705 (-2.5 points"));
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rf_test_rmtree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_growing_equals_whole),
        cmocka_unit_test(test_tail_truncated_and_replaced),
        cmocka_unit_test(test_tail_consumer_failure_loses_nothing),
        cmocka_unit_test(test_replay_frequencies_match_priorities),
        cmocka_unit_test(test_replay_bounded_and_artifact),
        cmocka_unit_test(test_ewc_gradient_matches_finite_differences),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_page_hinkley),
        cmocka_unit_test(test_online_fit_and_gate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
