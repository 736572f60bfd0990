/* rf_split: grouped stratified splits; see rf_split.h. */
#include "ml/rf_split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct gid_pair {
    int32_t group;
    size_t row;
} gid_pair;

static int cmp_pair(const void *a, const void *b)
{
    const gid_pair *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

int rf_split_grouped(size_t n, const int32_t *group, const int32_t *label,
                     size_t nlabels, const double *frac, size_t nparts,
                     uint64_t seed, uint8_t *part, rf_err *err)
{
    if (nparts == 0 || nparts > RF_SPLIT_MAX_PARTS)
        return rf_errf(err, RF_EINVAL, "split: %zu parts (1..%d)", nparts, RF_SPLIT_MAX_PARTS);
    double fsum = 0;
    for (size_t p = 0; p < nparts; p++) {
        if (!(frac[p] >= 0) || !isfinite(frac[p]))
            return rf_errf(err, RF_EINVAL, "split: fraction %zu is not a non-negative number", p);
        fsum += frac[p];
    }
    if (fsum <= 0)
        return rf_errf(err, RF_EINVAL, "split: fractions sum to 0");
    if (!label)
        nlabels = 1;
    if (n == 0)
        return 0;
    for (size_t i = 0; label && i < n; i++)
        if (label[i] < 0 || (size_t)label[i] >= nlabels)
            return rf_errf(err, RF_EINVAL, "split: row %zu has label %d outside [0,%zu)",
                           i, label[i], nlabels);

    /* Dense group ids in order of first appearance after sorting by id, so
     * that the row order does not matter. */
    gid_pair *pairs = rf_xmalloc(n * sizeof *pairs);
    for (size_t i = 0; i < n; i++)
        pairs[i] = (gid_pair){group[i], i};
    qsort(pairs, n, sizeof *pairs, cmp_pair);
    size_t *gstart = rf_xmalloc((n + 1) * sizeof *gstart);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || pairs[i].group != pairs[i - 1].group)
            gstart[ng++] = i;
    gstart[ng] = n;

    /* label histogram per group, and totals */
    uint32_t *hist = rf_xcalloc(ng * nlabels, sizeof *hist);
    double *total = rf_xcalloc(nlabels, sizeof *total);
    for (size_t g = 0; g < ng; g++)
        for (size_t i = gstart[g]; i < gstart[g + 1]; i++) {
            size_t c = label ? (size_t)label[pairs[i].row] : 0;
            hist[g * nlabels + c]++;
            total[c]++;
        }

    size_t *order = rf_xmalloc(ng * sizeof *order);
    for (size_t g = 0; g < ng; g++)
        order[g] = g;
    uint64_t st = seed;
    for (size_t g = ng; g > 1; g--) {
        size_t j = (size_t)(splitmix64(&st) % g);
        size_t t = order[g - 1];
        order[g - 1] = order[j];
        order[j] = t;
    }

    /* Big groups first (by size class, so the seed still orders groups of
     * similar size): greedy packing works best that way. */
    uint8_t *cls = rf_xmalloc(ng);
    for (size_t g = 0; g < ng; g++) {
        size_t sz = gstart[g + 1] - gstart[g];
        cls[g] = 0;
        while (sz >>= 1)
            cls[g]++;
    }
    for (size_t k = 1; k < ng; k++) {   /* stable insertion sort by class */
        size_t g = order[k], j = k;
        while (j > 0 && cls[order[j - 1]] < cls[g]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = g;
    }
    free(cls);

    double *have = rf_xcalloc(nparts * nlabels, sizeof *have);
    size_t *gpart = rf_xmalloc(ng * sizeof *gpart);
    size_t *count = rf_xcalloc(nparts, sizeof *count);   /* groups per part */
    double *rows = rf_xcalloc(nparts, sizeof *rows);
    for (size_t k = 0; k < ng; k++) {
        size_t g = order[k];
        const uint32_t *h = hist + g * nlabels;
        double size = (double)(gstart[g + 1] - gstart[g]);
        size_t best = 0;
        double best_score = -INFINITY;
        for (size_t p = 0; p < nparts; p++) {
            if (frac[p] <= 0)
                continue;
            /* deficits relative to the part's own target, so a small part
             * that is empty is as hungry as a big one */
            double f = frac[p] / fsum, want = f * (double)n, lab = 0;
            for (size_t c = 0; c < nlabels; c++)
                if (h[c])
                    lab += h[c] * (f * total[c] - have[p * nlabels + c]) / (f * total[c]);
            double score = (want - rows[p]) / want + 0.5 * lab / size;
            if (score > best_score)
                best_score = score, best = p;
        }
        gpart[g] = best;
        count[best]++;
        rows[best] += size;
        for (size_t c = 0; c < nlabels; c++)
            have[best * nlabels + c] += h[c];
    }

    /* Fix-up: no part with a fraction stays empty while groups allow. */
    for (size_t p = 0; p < nparts; p++) {
        if (frac[p] <= 0 || count[p] > 0)
            continue;
        size_t from = nparts;
        for (size_t q = 0; q < nparts; q++)
            if (count[q] > 1 && (from == nparts || count[q] > count[from]))
                from = q;
        if (from == nparts)
            break;
        size_t small = ng;
        for (size_t g = 0; g < ng; g++)
            if (gpart[g] == from &&
                (small == ng || gstart[g + 1] - gstart[g] < gstart[small + 1] - gstart[small]))
                small = g;
        gpart[small] = p;
        count[from]--;
        count[p]++;
    }

    for (size_t g = 0; g < ng; g++)
        for (size_t i = gstart[g]; i < gstart[g + 1]; i++)
            part[pairs[i].row] = (uint8_t)gpart[g];

    free(pairs);
    free(gstart);
    free(hist);
    free(total);
    free(order);
    free(have);
    free(gpart);
    free(count);
    free(rows);
    return 0;
}

int rf_split_parse(const char *spec, double frac[3], rf_err *err)
{
    const char *p = spec;
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        char *end;
        frac[i] = strtod(p, &end);
        if (end == p || !(frac[i] >= 0) || !isfinite(frac[i]))
            goto bad;
        sum += frac[i];
        p = end;
        if (i < 2) {
            if (*p != '/')
                goto bad;
            p++;
        }
    }
    if (*p || sum <= 0 || frac[0] <= 0)
        goto bad;
    for (int i = 0; i < 3; i++)
        frac[i] /= sum;
    return 0;
bad:
    return rf_errf(err, RF_EINVAL,
                   "with.split: expected TRAIN/VAL/TEST such as 70/15/15, got \"%s\"", spec);
}
