/* rf_log: leveled logging to stderr (or a caller-chosen FILE), as text or,
 * with RUVFLOW_LOG_FORMAT=json, one JSON object per line for a log shipper:
 *   {"ts":"2026-12-04T01:02:03.456Z","level":"warn","component":"worker",
 *    "msg":"...","run":"...","step":"...","task":"...","attempt":2}
 * The run, step, task and attempt keys appear when the logger carries the
 * ids of the task it logs for (rf_log.ids; the worker runtime sets them per
 * task), so lines of one task can be joined across workers and the scheduler.
 *
 * A logger is a small value, not a global: pass it down or keep it in the
 * owning context. rf_log_default() returns a process-wide default used only
 * by binaries' main(), configured from RUVFLOW_LOG (error|warn|info|debug).
 * Never log secrets: rf_redact() masks credentials in URLs and headers. */
#ifndef RF_LOG_H
#define RF_LOG_H

#include <stdio.h>
#include <stddef.h>

enum rf_log_level { RF_LOG_ERROR, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG };

/* The task a logger speaks for; strings borrowed; NULL/""/0 = absent. */
typedef struct rf_log_ids {
    const char *run, *step, *task;
    int attempt;
} rf_log_ids;

typedef struct rf_log {
    int level;
    FILE *out;        /* NULL means stderr */
    const char *tag;  /* e.g. "scheduler", printed in brackets */
    int json;         /* one JSON object per line */
    const rf_log_ids *ids;  /* borrowed, may be NULL */
} rf_log;

/* Configured from RUVFLOW_LOG and RUVFLOW_LOG_FORMAT (text|json). */
rf_log *rf_log_default(void);
/* "text" 0, "json" 1, -1 if unknown. */
int rf_log_format_parse(const char *s);
/* A copy of base that carries ids (borrowed: they must outlive the copy). */
rf_log rf_log_with_ids(const rf_log *base, const rf_log_ids *ids);
int rf_log_level_parse(const char *s); /* -1 if unknown */
void rf_logf(const rf_log *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define rf_log_error(lg, ...) rf_logf((lg), RF_LOG_ERROR, __VA_ARGS__)
#define rf_log_warn(lg, ...)  rf_logf((lg), RF_LOG_WARN, __VA_ARGS__)
#define rf_log_info(lg, ...)  rf_logf((lg), RF_LOG_INFO, __VA_ARGS__)
#define rf_log_debug(lg, ...) rf_logf((lg), RF_LOG_DEBUG, __VA_ARGS__)

/* Copy src into dst (size n), masking "user:pass@" in URLs and the values of
 * Authorization, X-Amz-Security-Token, X-Amz-Credential/Signature. */
void rf_redact(char *dst, size_t n, const char *src);

#endif
