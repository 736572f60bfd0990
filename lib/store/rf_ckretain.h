/* rf_ckretain: retention and placement decisions for the versions of a
 * branch, as a pure function of their history (no I/O; tested on synthetic
 * histories).
 *
 * Policy: keep the last `keep_last` versions, the `keep_best` best by a
 * metric, and every version whose epoch is a multiple of `keep_every`; the
 * rest is deleted, or sent cold with `cold_instead`. Placement of kept
 * versions: the latest and the best in hot; the other kept versions younger
 * than `warm_days` in warm, older ones in cold. STANDARD_IA minimums (when
 * the warm tier uses an IA class): an object under 128 KiB is billed as
 * 128 KiB, so a version whose new bytes are that small stays hot instead of
 * going warm; and one that went warm less than 30 days ago stays there
 * (moving or deleting it early is billed as 30 days anyway). */
#ifndef RF_CKRETAIN_H
#define RF_CKRETAIN_H

#include <stddef.h>
#include <stdint.h>

enum rf_ckplace { RF_PLACE_HOT = 0, RF_PLACE_WARM, RF_PLACE_COLD, RF_PLACE_DELETE };

typedef struct rf_ckver {
    int64_t epoch;
    double metric;            /* NaN when the version has none */
    double age_days;          /* since it was written */
    uint64_t bytes;           /* stored bytes (its new chunks) */
    int tier;                 /* where it is now (enum rf_ckplace, not DELETE) */
    double days_in_tier;      /* since it got there */
} rf_ckver;

typedef struct rf_ckpolicy {
    size_t keep_last;         /* default 3 */
    size_t keep_best;         /* default 1 */
    int64_t keep_every;       /* 0 = off */
    int higher_is_better;     /* metric direction, default 1 (accuracy) */
    int cold_instead;         /* 1: send the rest cold instead of deleting */
    double warm_days;         /* default 7 */
    int warm_is_ia;           /* the warm tier's class is STANDARD_IA / ONEZONE_IA */
} rf_ckpolicy;

void rf_ckpolicy_default(rf_ckpolicy *p);

/* v[0..n) oldest first (the last is the branch head); place[i] receives the
 * decision for v[i]. */
void rf_ckretain_plan(const rf_ckver *v, size_t n, const rf_ckpolicy *p, int *place);

const char *rf_ckplace_name(int place);

#endif
