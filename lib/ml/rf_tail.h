/* rf_tail: reading a growing session-log file in pieces.
 *
 * A stream-json log grows while its session runs. rf_tail_read hands out
 * the complete lines ('\n'-terminated) after a saved position and moves the
 * position to the end of the last complete line, so a half-written last
 * line is left for the next call, and reading a file in pieces yields
 * exactly the lines of reading it whole. The position also fingerprints the
 * file's first bytes (up to RF_TAIL_HEAD): a file that became shorter than
 * the position, or whose head changed (replaced by another file), is read
 * again from the start and the call says so (*restarted = 1).
 *
 * Plain files only: a compressed file (.gz, .zst magic) cannot be resumed
 * at a byte offset; rf_tail_read fails on one with RF_EUNSUPP, and callers
 * read such files whole once with rf_lines (rf_sessions.h).
 *
 * The position is a small value the caller stores (the watcher keeps it in
 * Redis); rf_tail_pos_format/parse turn it into a short string and back. */
#ifndef RF_TAIL_H
#define RF_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

#define RF_TAIL_HEAD 256
#define RF_TAIL_POS_MAX 96

typedef struct rf_tail_pos {
    uint64_t offset;     /* bytes consumed: just after the last complete line */
    uint64_t lines;      /* complete lines consumed */
    uint64_t head_len;   /* bytes fingerprinted (min(offset, RF_TAIL_HEAD)) */
    uint64_t head_hash;  /* FNV-1a 64 of those bytes */
} rf_tail_pos;

/* One complete line (without '\n' and a trailing '\r'); lineno is 1-based
 * in the file. Return 0 to go on, -1 (with *err) to stop: the position then
 * ends after the last line accepted, so nothing is lost. */
typedef int (*rf_tail_line_fn)(void *ud, const char *line, size_t len, uint64_t lineno,
                               rf_err *err);

/* Deliver the complete lines after *pos and advance it. *restarted is set
 * to 1 when the file no longer matches pos (shorter, or another head) and
 * was read from the start, else 0. A line longer than max_line (0 = 64 MiB)
 * fails with RF_ETOOBIG naming path:line. *pending (may be NULL) receives
 * the bytes of an unfinished last line left for later. */
int rf_tail_read(const char *path, rf_tail_pos *pos, size_t max_line, rf_tail_line_fn fn,
                 void *ud, int *restarted, uint64_t *pending, rf_err *err);

/* "offset:lines:head_len:head_hash" (decimal, hash in hex). */
void rf_tail_pos_format(const rf_tail_pos *p, char out[RF_TAIL_POS_MAX]);
int rf_tail_pos_parse(const char *s, rf_tail_pos *p, rf_err *err);

#endif
