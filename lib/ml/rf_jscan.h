/* rf_jscan: a validating JSON scanner that locates values without decoding.
 *
 * Session logs are dominated by bytes nobody needs (file contents inside
 * tool results, base64 images, hook output). Building a jansson tree for
 * every line spends most of its time allocating and unescaping those. So a
 * line goes through rf_jscan_validate() once (full RFC 8259 grammar, UTF-8
 * inside strings, a depth cap), and afterwards the caller walks the line as
 * spans: raw slices of the validated text. Only the few strings and small
 * objects that are really used are decoded, with jansson
 * (rf_jspan_decode_str, rf_jspan_load).
 *
 * Spans point into the caller's line buffer and live as long as it does.
 * Walking functions assume a validated span; on unvalidated input they stay
 * in bounds but their results are meaningless. Keys are compared raw: a key
 * written with escapes (\u0074ype) does not match "type". */
#ifndef RF_JSCAN_H
#define RF_JSCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rf_jspan {
    const char *p;  /* first byte of the value (the quote of a string) */
    size_t n;       /* 0 = absent */
} rf_jspan;

enum rf_jtype {
    RF_J_ABSENT = 0, RF_J_OBJECT, RF_J_ARRAY, RF_J_STRING, RF_J_NUMBER,
    RF_J_TRUE, RF_J_FALSE, RF_J_NULL
};

#define RF_JSCAN_MAX_DEPTH 512

/* Validate that [p, p+n) is exactly one JSON value, optionally surrounded
 * by whitespace. Returns 0 and sets *value (leading/trailing blanks
 * trimmed), or -1 with *reason (static text) and *where (byte offset). */
int rf_jscan_validate(const char *p, size_t n, rf_jspan *value,
                      const char **reason, size_t *where);

int rf_jspan_type(rf_jspan v);

/* Iterators over a validated object or array. */
typedef struct rf_jiter {
    const char *p, *end;
} rf_jiter;

rf_jiter rf_jiter_begin(rf_jspan container);
/* Next member: *key is the raw key text without quotes. 0 at the end. */
int rf_jobj_next(rf_jiter *it, rf_jspan *key, rf_jspan *val);
int rf_jarr_next(rf_jiter *it, rf_jspan *val);

/* Member of an object by raw key; absent span if missing or not an object. */
rf_jspan rf_jobj_get(rf_jspan obj, const char *key);

/* Lookups of several keys in one pass over an object. keys[i] gets vals[i]. */
void rf_jobj_get_many(rf_jspan obj, const char *const *keys, rf_jspan *vals,
                      size_t n);

/* 1 if v is a string whose raw content equals lit (no unescaping). */
int rf_jstr_eq(rf_jspan v, const char *lit);
/* Raw content of a string value without quotes (escapes left as is). */
rf_jspan rf_jstr_raw(rf_jspan v);
/* 1 if true, 0 otherwise. */
int rf_jbool(rf_jspan v);
/* Number value, or def when absent or not a number. */
double rf_jnum(rf_jspan v, double def);

/* Decode a string value (unescaped, NUL-terminated, malloc'd, caller frees;
 * *len may be NULL). Returns NULL when v is not a string. Escape-free
 * strings are copied directly; others go through jansson. */
char *rf_jspan_decode_str(rf_jspan v, size_t *len);
/* Decode any value with jansson (new reference, NULL on failure). */
json_t *rf_jspan_load(rf_jspan v);

#endif
