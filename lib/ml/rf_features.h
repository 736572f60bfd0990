/* rf_features: the pieces dataset rows are made of.
 *
 * Feature hashing turns text into a fixed number of columns without a
 * vocabulary (so rows from any corpus line up); rows are kept sparse while
 * a corpus is read (a tool-selection row has a few hundred non-zeros out of
 * thousands of columns) and made dense only when the dataset is written;
 * a vocabulary gives labels stable indices in order of first appearance. */
#ifndef RF_FEATURES_H
#define RF_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#define RF_FNV0 0xcbf29ce484222325ULL
uint64_t rf_fnv1a(const void *p, size_t n, uint64_t h);   /* FNV-1a 64 */
uint64_t rf_mix64(uint64_t x);                            /* murmur3 finalizer */

/* ---- feature hashing ---- */

/* Hashed bag of words and bigrams over a fixed dimension. Tokens are runs
 * of ASCII letters, digits and '_' (lower-cased) or bytes >= 0x80; JSON
 * escapes (\n, \", \uXXXX) separate tokens, so raw JSON string contents
 * can be hashed without decoding them. */
typedef struct rf_fhash {
    uint32_t dim;
    float *v;            /* dim counts */
    uint32_t *touched;   /* indices with v != 0, for sparse export and reset */
    uint32_t ntouched;
    uint64_t prev;       /* hash of the previous token, 0 at a boundary */
} rf_fhash;

void rf_fhash_init(rf_fhash *h, uint32_t dim);
void rf_fhash_free(rf_fhash *h);
void rf_fhash_add(rf_fhash *h, const char *s, size_t n);   /* tokens + bigrams */
void rf_fhash_token(rf_fhash *h, const char *tok, size_t n); /* one exact token */
void rf_fhash_break(rf_fhash *h);   /* no bigram across this point */
void rf_fhash_reset(rf_fhash *h);
uint32_t rf_fhash_index(const char *tok, size_t n, uint32_t dim);

/* ---- rows (sparse hashed part + dense tail) ---- */

#define RF_TOOL_SLOTS 64     /* hashed buckets per previous-tool slot */

enum rf_num_feature {
    RF_NF_CALL_INDEX, RF_NF_THREAD_CALL_INDEX, RF_NF_ERRORS_SO_FAR,
    RF_NF_LAST_FAILED, RF_NF_IN_SUBAGENT, RF_NF_CTX_THINKING_CHARS,
    RF_NF_CTX_TEXT_CHARS, RF_NF_CTX_THINKING_BLOCKS, RF_NF_BATCH_POS,
    RF_NF_SECONDS_SINCE_PREV, RF_NF_ERROR_RATE, RF_NF_EVENT_INDEX,
    RF_NF_COUNT
};
const char *rf_num_feature_name(int i);

typedef struct rf_rows {
    uint32_t hash_dim;
    int k_prev;
    size_t n, cap;
    uint64_t *nz_off;    /* n + 1 offsets into nz_idx/nz_val */
    uint32_t *nz_idx;    /* sparse feature indices (hashed and tool slots) */
    float *nz_val;
    size_t nnz, nz_cap;
    float *num;          /* n * RF_NF_COUNT */
    int32_t *label;
    int32_t *group;      /* session index */
    int32_t *prev_row;   /* the row before it in its thread, -1 (rf_rows_begin) */
    int32_t *file;       /* rf_file_stats.index of the file it came from */
} rf_rows;

size_t rf_rows_n_features(const rf_rows *r);
/* Write row i densely into out (rf_rows_n_features floats). */
void rf_rows_densify(const rf_rows *r, size_t i, float *out);
void rf_rows_free(rf_rows *r);

/* ---- string vocabulary (labels) ---- */

typedef struct rf_vocab {
    char **names;
    size_t n, cap;
    int32_t *slots;      /* open addressing, -1 empty */
    size_t nslots;
} rf_vocab;

int32_t rf_vocab_id(rf_vocab *v, const char *s, size_t n);   /* adds if new */
void rf_vocab_free(rf_vocab *v);

void rf_rows_init(rf_rows *r, uint32_t hash_dim, int k_prev);
/* Start row i (returned) with its label and group; add its sparse entries
 * with rf_rows_add, close it with rf_rows_end, then fill its numbers at
 * r->num + i * RF_NF_COUNT. */
size_t rf_rows_begin(rf_rows *r, int32_t label, int32_t group, int32_t file);
void rf_rows_add(rf_rows *r, uint32_t idx, float val);
void rf_rows_end(rf_rows *r, size_t i);

#endif
