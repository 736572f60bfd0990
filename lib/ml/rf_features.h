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
    uint64_t salt;       /* 0, or a namespace: the same token lands elsewhere */
} rf_fhash;

void rf_fhash_init(rf_fhash *h, uint32_t dim);
/* The same over a namespace (salt != 0): tokens of one source (the latest
 * user message, say) do not share buckets with the same words elsewhere. */
void rf_fhash_init_salted(rf_fhash *h, uint32_t dim, uint64_t salt);
void rf_fhash_free(rf_fhash *h);
void rf_fhash_add(rf_fhash *h, const char *s, size_t n);   /* tokens + bigrams */
void rf_fhash_token(rf_fhash *h, const char *tok, size_t n); /* one exact token */
void rf_fhash_break(rf_fhash *h);   /* no bigram across this point */
void rf_fhash_reset(rf_fhash *h);
uint32_t rf_fhash_index(const char *tok, size_t n, uint32_t dim);

/* ---- rows (sparse hashed part + dense tail) ---- */

#define RF_TOOL_SLOTS 64     /* buckets per previous-tool slot */
#define RF_TOOL_KNOWN 40     /* of which Claude Code's own tools have their own */

/* The bucket of a tool name in a previous-tool slot: Claude Code's built-in
 * tools (Bash, Read, Edit, ...; docs/preprocess.md) each have a bucket of
 * their own, so they never collide; any other name (MCP tools, future
 * ones) is hashed into the remaining RF_TOOL_SLOTS - RF_TOOL_KNOWN. */
uint32_t rf_tool_slot(const char *name, size_t n);
const char *rf_tool_slot_name(uint32_t slot);   /* "Bash", ... or "hashed" */

/* The outcome of a previous call, one-hot per slot: ok, error, no result
 * yet, and when a result came, the bucket of its size in bytes. */
enum rf_outcome {
    RF_OUT_OK, RF_OUT_ERROR, RF_OUT_PENDING, RF_OUT_SIZE_100, RF_OUT_SIZE_1K,
    RF_OUT_SIZE_10K, RF_OUT_SIZE_100K, RF_OUT_SIZE_MORE, RF_OUTCOME_SLOTS
};
const char *rf_outcome_name(int i);             /* "ok", "error", ... */
int rf_outcome_size_bucket(uint64_t bytes);     /* RF_OUT_SIZE_* */

enum rf_num_feature {
    RF_NF_CALL_INDEX, RF_NF_THREAD_CALL_INDEX, RF_NF_ERRORS_SO_FAR,
    RF_NF_LAST_FAILED, RF_NF_IN_SUBAGENT, RF_NF_CTX_THINKING_CHARS,
    RF_NF_CTX_TEXT_CHARS, RF_NF_CTX_THINKING_BLOCKS, RF_NF_BATCH_POS,
    RF_NF_SECONDS_SINCE_PREV, RF_NF_ERROR_RATE, RF_NF_EVENT_INDEX,
    RF_NF_PREV_IN_BATCH, RF_NF_TODO_TOTAL, RF_NF_TODO_DONE_FRAC, RF_NF_TODO_ACTIVE_POS,
    RF_NF_CALLS_SINCE_TODO, RF_NF_CWD_CHANGED, RF_NF_ON_BRANCH,
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
