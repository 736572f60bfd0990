/* rf_log: leveled logging and secret redaction; see rf_log.h. */
#include "base/rf_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int rf_log_level_parse(const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; s && i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

int rf_log_format_parse(const char *s)
{
    if (s && !strcasecmp(s, "text"))
        return 0;
    if (s && !strcasecmp(s, "json"))
        return 1;
    return -1;
}

rf_log *rf_log_default(void)
{
    /* The one process-wide default, for binaries' main() only. */
    static rf_log lg = {RF_LOG_INFO, NULL, NULL, 0, NULL};
    static int init;
    if (!init) {
        int l = rf_log_level_parse(getenv("RUVFLOW_LOG"));
        if (l >= 0)
            lg.level = l;
        lg.json = rf_log_format_parse(getenv("RUVFLOW_LOG_FORMAT")) == 1;
        init = 1;
    }
    return &lg;
}

rf_log rf_log_with_ids(const rf_log *base, const rf_log_ids *ids)
{
    rf_log lg = base ? *base : *rf_log_default();
    lg.ids = ids;
    return lg;
}

/* A JSON string of s; bytes that are not UTF-8 become '?' (jansson
 * refuses invalid UTF-8, and a log line must never be lost over it). */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *c = strdup(s);
    if (!c)
        return json_string("");
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(c);
    free(c);
    return j ? j : json_string("");
}

static void set_id(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_text(v));
}

/* One JSON object per line; the write is one fputs, so lines of threads
 * never interleave within a line. */
static void put_json(const rf_log *lg, FILE *out, const char *level, const struct tm *tm,
                     long ms, const char *msg)
{
    char ts[80];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm->tm_year + 1900,
             tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, ms);
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level));
    if (lg->tag)
        json_object_set_new(o, "component", json_text(lg->tag));
    json_object_set_new(o, "msg", json_text(msg));
    if (lg->ids) {
        set_id(o, "run", lg->ids->run);
        set_id(o, "step", lg->ids->step);
        set_id(o, "task", lg->ids->task);
        if (lg->ids->attempt > 0)
            json_object_set_new(o, "attempt", json_integer(lg->ids->attempt));
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line) {
        size_t n = strlen(line);
        char *nl = realloc(line, n + 2);
        if (nl) {
            line = nl;
            memcpy(line + n, "\n", 2);
            fputs(line, out);
        }
        free(line);
    }
}

void rf_logf(const rf_log *lg, int level, const char *fmt, ...)
{
    static const char *tags[] = {"error", "warn", "info", "debug"};
    if (!lg)
        lg = rf_log_default();
    if (level > lg->level)
        return;
    FILE *out = lg->out ? lg->out : stderr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[4096], msg[3800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char safe[3800];
    rf_redact(safe, sizeof safe, msg);
    if (lg->json) {
        put_json(lg, out, tags[level], &tm, ts.tv_nsec / 1000000, safe);
        fflush(out);
        return;
    }
    snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s%s%s%s: %s\n",
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
             lg->tag ? "[" : "", lg->tag ? lg->tag : "", lg->tag ? "] " : "",
             tags[level], safe);
    fputs(line, out);
    fflush(out);
}

/* Length of the secret that starts at s (up to a delimiter). */
static size_t secret_len(const char *s, const char *stops)
{
    return strcspn(s, stops);
}

void rf_redact(char *dst, size_t n, const char *src)
{
    static const char *keys[] = {
        "authorization:", "x-amz-security-token:", "x-amz-security-token=",
        "x-amz-credential=", "x-amz-signature=", "signature=", "password=",
        "aws_secret_access_key=",
    };
    size_t o = 0;
    if (n == 0)
        return;
    for (size_t i = 0; src[i] && o + 1 < n;) {
        int hit = 0;
        /* "scheme://user:pass@" -> "scheme://user:***@" */
        if (src[i] == ':' && i >= 1 && strncmp(src + i, "://", 3) != 0) {
            const char *at = strchr(src + i, '@');
            const char *sl = strstr(src, "://");
            size_t span = at ? (size_t)(at - (src + i)) : 0;
            if (at && sl && sl < src + i && span > 1 &&
                memchr(src + i + 1, '/', span - 1) == NULL &&
                memchr(src + i + 1, ' ', span - 1) == NULL) {
                const char *mask = ":***";
                for (const char *m = mask; *m && o + 1 < n; m++)
                    dst[o++] = *m;
                i += span;
                continue;
            }
        }
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k]);
            if (strncasecmp(src + i, keys[k], kl) == 0) {
                for (size_t j = 0; j < kl && o + 1 < n; j++)
                    dst[o++] = src[i + j];
                i += kl;
                while (src[i] == ' ' && o + 1 < n)
                    dst[o++] = src[i++];
                i += secret_len(src + i, keys[k][kl - 1] == '=' ? "&\r\n \"" : "\r\n\"");
                for (const char *m = "***"; *m && o + 1 < n; m++)
                    dst[o++] = *m;
                hit = 1;
                break;
            }
        }
        if (!hit)
            dst[o++] = src[i++];
    }
    dst[o] = '\0';
}
