/* rf_runtime_probe: before a served worker takes tasks, check that its S3
 * stores answer. An unreachable S3 at start is retried with backoff (100 ms
 * doubling to 2 s, never a busy loop) for the same --retry budget as Redis,
 * then the worker exits 6 with the store and the last error, so systemd's
 * Restart=on-failure starts it again later; a wrong key, a missing bucket
 * or bad credentials fail at once (retrying would not fix them). file://
 * stores are created on first write and need no probe. */
#include "engine/rf_runtime_impl.h"

#include "store/rf_store.h"

static int stop_listing(void *ud, const char *key, const rf_store_meta *m)
{
    (void)ud, (void)key, (void)m;
    return 1; /* one key or none is enough: the bucket answered */
}

/* One attempt, with no retries of the client's own: the loop here owns
 * the schedule and the deadline. */
static int probe_once(runtime *rt, const char *url, rf_err *err)
{
    rf_config c = rt->cfg; /* shallow: rf_store_open copies what it keeps */
    c.s3.max_retries = 0;
    c.s3.stats = NULL;     /* probes are not task traffic */
    if (c.s3.connect_timeout_ms <= 0 || c.s3.connect_timeout_ms > 2000)
        c.s3.connect_timeout_ms = 2000;
    rf_store *s;
    if (rf_store_open(url, &c, &s, err) != 0)
        return -1;
    int rc = rf_store_list(s, "", 0, stop_listing, NULL, err);
    rf_store_close(s);
    return rc < 0 ? -1 : 0;
}

/* Sleep ms in 100 ms slices; 1 when a drain or signal asks to stop. */
static int nap(runtime *rt, long ms, int (*stop)(void *), long *slept)
{
    for (long d = 0; d < ms; d += 100) {
        if (stop(rt))
            return 1;
        rf_sleep_ms(ms - d < 100 ? ms - d : 100);
    }
    *slept += ms;
    return stop(rt);
}

static int probe_url(runtime *rt, const char *url, int (*stop)(void *), rf_err *err)
{
    int64_t start = rf_mono_ms();
    long delay = 100, slept = 0;
    for (int attempt = 1;; attempt++) {
        if (probe_once(rt, url, err) == 0) {
            if (attempt > 1)
                rf_log_info(&rt->log, "store %s: reachable after %d attempts", url, attempt);
            return 0;
        }
        if (err->code != RF_ENET)
            return rf_err_prefix(err, "store %s", url);
        long spent = (long)(rf_mono_ms() - start);
        if (spent >= rt->o.retry_ms)
            return rf_err_prefix(err, "store %s: unreachable after %ld s", url,
                                 rt->o.retry_ms / 1000);
        if (attempt == 1)
            rf_log_warn(&rt->log, "store %s: %s; retrying with backoff for up to %ld s", url,
                        err->msg, rt->o.retry_ms / 1000);
        long left = rt->o.retry_ms - spent;
        if (nap(rt, delay < left ? delay : left, stop, &slept))
            return rf_errf(err, RF_ECANCEL, "store %s: stopped while waiting for it", url);
        delay = delay * 2 > 2000 ? 2000 : delay * 2;
    }
}

int rf_runtime_probe_stores(runtime *rt, const char *const *urls, size_t n,
                            int (*stop)(void *), rf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!urls[i] || strncmp(urls[i], "s3://", 5) != 0)
            continue;
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= urls[j] && !strcmp(urls[j], urls[i]);
        if (!dup && probe_url(rt, urls[i], stop, err) != 0)
            return -1;
    }
    return 0;
}
