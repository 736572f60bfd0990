/* rf_ckretain: which versions of a branch to keep, and in which tier. */
#include "store/rf_ckretain.h"

#include <math.h>
#include <stdlib.h>

#define IA_MIN_BYTES (128u * 1024u)
#define IA_MIN_DAYS 30.0

void rf_ckpolicy_default(rf_ckpolicy *p)
{
    p->keep_last = 3;
    p->keep_best = 1;
    p->keep_every = 0;
    p->higher_is_better = 1;
    p->cold_instead = 0;
    p->warm_days = 7;
    p->warm_is_ia = 0;
}

const char *rf_ckplace_name(int place)
{
    static const char *const names[] = {"hot", "warm", "cold", "delete"};
    return place >= 0 && place <= RF_PLACE_DELETE ? names[place] : "?";
}

static int better(const rf_ckver *a, const rf_ckver *b, int higher)
{
    if (isnan(a->metric))
        return 0;
    if (isnan(b->metric))
        return 1;
    return higher ? a->metric > b->metric : a->metric < b->metric;
}

/* Mark the k best (ties: the later one) in best[]. */
static void mark_best(const rf_ckver *v, size_t n, size_t k, int higher, char *best)
{
    for (size_t round = 0; round < k; round++) {
        size_t pick = n;
        for (size_t i = 0; i < n; i++)
            if (!best[i] && !isnan(v[i].metric) &&
                (pick == n || !better(&v[pick], &v[i], higher)))
                pick = i;
        if (pick == n)
            return;
        best[pick] = 1;
    }
}

void rf_ckretain_plan(const rf_ckver *v, size_t n, const rf_ckpolicy *p, int *place)
{
    char *best = calloc(n ? n : 1, 1);
    if (best)
        mark_best(v, n, p->keep_best, p->higher_is_better, best);
    for (size_t i = 0; i < n; i++) {
        int latest = i + 1 == n, is_best = best && best[i];
        int recent = n - i <= p->keep_last;
        int nth = p->keep_every > 0 && v[i].epoch > 0 && v[i].epoch % p->keep_every == 0;
        int want;
        if (latest || is_best)
            want = RF_PLACE_HOT;
        else if (recent || nth)
            want = v[i].age_days < p->warm_days ? RF_PLACE_WARM : RF_PLACE_COLD;
        else
            want = p->cold_instead ? RF_PLACE_COLD : RF_PLACE_DELETE;
        if (p->warm_is_ia && want == RF_PLACE_WARM && v[i].tier == RF_PLACE_HOT &&
            v[i].bytes < IA_MIN_BYTES)
            want = RF_PLACE_HOT;    /* billed as 128 KiB in IA: cheaper hot */
        if (p->warm_is_ia && v[i].tier == RF_PLACE_WARM && want != RF_PLACE_WARM &&
            want != RF_PLACE_HOT && v[i].days_in_tier < IA_MIN_DAYS)
            want = RF_PLACE_WARM;   /* leaving IA early is billed as 30 days anyway */
        place[i] = want;
    }
    free(best);
}
