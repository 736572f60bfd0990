/* rf_sessions: finding session-log files and reading them line by line.
 *
 * Inputs are files or folders. A folder is walked recursively for log files
 * (*.jsonl, *.ndjson, *.json, each optionally .gz or .zst) in name order.
 * Files are grouped into units: a projects session file X.jsonl together
 * with the files under the folder X/ (its subagents/agent-*.jsonl), so a
 * subagent can be linked to the Task call of its parent session, and the
 * caller can release a unit's state before reading the next one.
 *
 * The line reader decompresses gzip and zstd by their magic bytes (so the
 * file name does not matter), hands out one line at a time from a buffer
 * that grows only as far as the longest line (up to a cap), and reports a
 * line over the cap as such instead of failing or buffering it. */
#ifndef RF_SESSIONS_H
#define RF_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

#define RF_LINE_CAP_DEFAULT (64u << 20)

/* An ordered list of files in units. */
typedef struct rf_file_list {
    char **paths;       /* n entries, owned */
    size_t *unit;       /* unit index of each file, non-decreasing */
    size_t n, cap;
} rf_file_list;

/* Append the log files of path (a file, taken whatever its name, or a
 * folder) to list. Fails with RF_ENOTFOUND if path does not exist. */
int rf_file_list_add(rf_file_list *l, const char *path, rf_err *err);
void rf_file_list_free(rf_file_list *l);
/* Is name (a file name or path) named like a session log: *.jsonl,
 * *.ndjson, *.json, each optionally .gz or .zst? */
int rf_is_log_name(const char *name);

enum rf_line_flags {
    RF_LINE_TOOLONG = 1,     /* over the cap: content dropped, len 0 */
    RF_LINE_NO_NEWLINE = 2   /* last line of the file without '\n' */
};

enum rf_compression { RF_COMP_NONE = 0, RF_COMP_GZIP, RF_COMP_ZSTD };

typedef struct rf_lines rf_lines;

/* Open path for reading lines of at most max_line bytes (0 = default). */
int rf_lines_open(const char *path, size_t max_line, rf_lines **out, rf_err *err);
/* Next line, without its '\n' (and '\r'). The bytes stay valid until the
 * next call, and the buffer has one writable byte after them. Returns 1
 * with a line, 0 at the end, -1 on a read or decompression error. */
int rf_lines_next(rf_lines *r, char **line, size_t *len, int *flags, rf_err *err);
uint64_t rf_lines_lineno(const rf_lines *r);   /* of the line last returned */
uint64_t rf_lines_bytes(const rf_lines *r);    /* decompressed bytes so far */
int rf_lines_compression(const rf_lines *r);
void rf_lines_close(rf_lines *r);

#endif
