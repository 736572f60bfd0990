/* Unit tests for rf_baseline: majority, previous-action and Markov
 * predictions on hand-made sequences whose answers are worked out by hand
 * in the comments, the fallbacks, the training mean, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ml/rf_baseline.h"

enum { A, B, C, D };

/* Training: session 1 = A A B A B (rows 0-4), session 2 = C C (rows 5-6).
 * Counts A 3, B 2, C 2: majority A. Transitions: start -> A 1, C 1 (tie:
 * A is more common overall); A -> A 1, A -> B 2; B -> A 1; C -> C 1.
 * Test: session 3 = A B A C (rows 7-10); row 11 = D alone (a class never
 * seen in training), row 12 = A after D. */
static const int32_t y[] = {A, A, B, A, B, C, C, A, B, A, C, D, A};
static const int32_t prev[] = {-1, 0, 1, 2, 3, -1, 5, -1, 7, 8, 9, -1, 11};
static const uint32_t train[] = {0, 1, 2, 3, 4, 5, 6};
static const uint32_t test[] = {7, 8, 9, 10, 11, 12};

static rf_baseline_rows rows(const int32_t *prev_row)
{
    return (rf_baseline_rows){y, 4, prev_row, train, 7, test, 6};
}

static void predict(int kind, int32_t *out)
{
    rf_baseline_rows r = rows(prev);
    rf_err e = {0};
    assert_int_equal(rf_baseline_predict(&r, kind, out, &e), 0);
}

static void test_majority(void **state)
{
    (void)state;
    int32_t p[6];
    predict(RF_BASELINE_MAJORITY, p);
    for (int i = 0; i < 6; i++)
        assert_int_equal(p[i], A);
}

static void test_previous(void **state)
{
    (void)state;
    int32_t p[6];
    predict(RF_BASELINE_PREVIOUS, p);
    /* start -> majority A; then the previous row's class: A, B, A; D's
     * row starts a sequence (A); the row after D repeats D */
    const int32_t want[] = {A, A, B, A, A, D};
    assert_memory_equal(p, want, sizeof want);
}

static void test_markov(void **state)
{
    (void)state;
    int32_t p[6];
    predict(RF_BASELINE_MARKOV, p);
    /* start -> A; A -> B; B -> A; A -> B; start -> A; D unseen -> A */
    const int32_t want[] = {A, B, A, B, A, A};
    assert_memory_equal(p, want, sizeof want);
    /* truth A B A C D A: markov 4 of 6, previous 2 of 6, majority 3 of 6 */
    int hits = 0;
    for (int i = 0; i < 6; i++)
        hits += p[i] == y[test[i]];
    assert_int_equal(hits, 4);
}

/* A tie in the transition counts goes to the class more common overall,
 * then to the lower index. */
static void test_ties(void **state)
{
    (void)state;
    /* train: B A, B C, C C C: counts A 1, B 2, C 4; B -> A 1, B -> C 1 */
    const int32_t ty[] = {B, A, B, C, C, C, C, B};
    const int32_t tp[] = {-1, 0, -1, 2, -1, 4, 5, -1};
    const uint32_t ttr[] = {0, 1, 2, 3, 4, 5, 6};
    const uint32_t tte[] = {1, 7};
    rf_baseline_rows r = {ty, 3, tp, ttr, 7, tte, 2};
    int32_t p[2];
    rf_err e = {0};
    assert_int_equal(rf_baseline_predict(&r, RF_BASELINE_MARKOV, p, &e), 0);
    assert_int_equal(p[0], C);   /* after B: A 1 vs C 1, C more common */
    assert_int_equal(p[1], B);   /* start: B 2 vs C 1, though C is the majority */
}

static void test_mean(void **state)
{
    (void)state;
    const float yr[] = {1, 10, 3, 20, 100, 100};   /* 3 rows x 2 targets */
    const uint32_t tr[] = {0, 1};
    float out[4];
    rf_err e = {0};
    assert_int_equal(rf_baseline_mean(yr, 2, tr, 2, 2, out, &e), 0);
    const float want[] = {2, 15, 2, 15};
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(rf_baseline_mean(yr, 2, tr, 0, 2, out, &e), -1);
}

static void test_bad_input(void **state)
{
    (void)state;
    int32_t p[6];
    rf_err e = {0};
    rf_baseline_rows r = rows(NULL);
    assert_false(rf_baseline_applies(&r, RF_BASELINE_PREVIOUS));
    assert_true(rf_baseline_applies(&r, RF_BASELINE_MAJORITY));
    assert_int_equal(rf_baseline_predict(&r, RF_BASELINE_MARKOV, p, &e), -1);
    assert_non_null(strstr(e.msg, "prev_row"));
    r = rows(prev);
    r.n_classes = 3;   /* D is out of range */
    assert_int_equal(rf_baseline_predict(&r, RF_BASELINE_PREVIOUS, p, &e), -1);
    assert_non_null(strstr(e.msg, "outside"));
    r = rows(prev);
    r.n_train = 0;
    assert_int_equal(rf_baseline_predict(&r, RF_BASELINE_MAJORITY, p, &e), -1);
    assert_string_equal(rf_baseline_name(RF_BASELINE_PREVIOUS), "previous");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_majority),
        cmocka_unit_test(test_previous),
        cmocka_unit_test(test_markov),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_mean),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
