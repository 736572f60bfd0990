/* rf_str: small string helpers shared by the layers: the "did you mean"
 * distance of unknown keys and names. */
#ifndef RF_STR_H
#define RF_STR_H

#include <stddef.h>

/* Levenshtein distance of two short strings; 99 when either is longer than
 * 64 bytes (names are short, and no suggestion is better than a slow one). */
size_t rf_edit_distance(const char *a, const char *b);

#endif
