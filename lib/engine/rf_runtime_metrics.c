/* rf_runtime_metrics: a served worker's /metrics (Prometheus text): its
 * task counters (rf_wmetrics), the round trips of its Redis connections
 * and the counters its S3 clients keep (rf_s3_stats). Off unless
 * --metrics ADDR / $RUVFLOW_WORKER_METRICS_ADDR names an address. */
#include "engine/rf_runtime_impl.h"

#include "base/rf_prom.h"
#include "base/rf_version.h"

static void add_stats(rf_redis_stats *sum, const rf_redis *r)
{
    if (!r)
        return;
    rf_redis_stats st;
    rf_redis_stats_get(r, &st);
    sum->round_trips += st.round_trips;
    sum->errors += st.errors;
    sum->reconnects += st.reconnects;
}

static void write_redis(runtime *rt, rf_buf *b)
{
    rf_redis_stats sum = {0};
    pthread_mutex_lock(&rt->mu);
    add_stats(&sum, rt->main_r);
    add_stats(&sum, rt->hb_r);
    for (int i = 0; rt->slots && i < rt->o.concurrency; i++)
        add_stats(&sum, rt->slots[i].r);
    pthread_mutex_unlock(&rt->mu);
    const char *l[] = {"conn", "worker", NULL};
    rf_prom_family(b, "ruvflow_redis_round_trips_total", "counter",
                   "Commands or pipelines sent to Redis, by connection.");
    rf_prom_sample(b, "ruvflow_redis_round_trips_total", l, (double)sum.round_trips);
    rf_prom_family(b, "ruvflow_redis_errors_total", "counter",
                   "Redis connections lost, by connection.");
    rf_prom_sample(b, "ruvflow_redis_errors_total", l, (double)sum.errors);
    rf_prom_family(b, "ruvflow_redis_reconnects_total", "counter",
                   "Redis reconnections, by connection.");
    rf_prom_sample(b, "ruvflow_redis_reconnects_total", l, (double)sum.reconnects);
}

static int on_http(void *ctx, const char *path, rf_buf *body, const char **ctype)
{
    runtime *rt = ctx;
    if (strcmp(path, "/metrics") != 0) {
        rf_buf_adds(body, "not found: try /metrics\n");
        return 404;
    }
    const char *ver[] = {"version", RF_VERSION, "types", rt->types_csv, NULL};
    rf_prom_family(body, "ruvflow_build_info", "gauge", "The ruvflow version serving /metrics.");
    rf_prom_sample(body, "ruvflow_build_info", ver, 1);
    rf_wmetrics_write(rt->wm, body);
    write_redis(rt, body);
    rf_s3_stats_write(&rt->s3stats, body);
    *ctype = RF_PROM_CONTENT_TYPE;
    return 200;
}

int rf_runtime_metrics_start(runtime *rt, rf_err *err)
{
    if (!rt->o.metrics_addr)
        return 0;
    rt->wm = rf_wmetrics_new(rt->o.pool, rt->types, rt->ntypes);
    rt->cfg.s3.stats = &rt->s3stats; /* every S3 client of the slots counts here */
    if (rf_httpd_start(rt->o.metrics_addr, on_http, rt, &rt->httpd, err) != 0) {
        rt->cfg.s3.stats = NULL;
        rf_wmetrics_free(rt->wm);
        rt->wm = NULL;
        return rf_err_prefix(err, "metrics");
    }
    rf_log_info(&rt->log, "metrics on %s (port %d), path /metrics", rt->o.metrics_addr,
                rf_httpd_port(rt->httpd));
    return 0;
}

void rf_runtime_metrics_stop(runtime *rt)
{
    rf_httpd_stop(rt->httpd);
    rt->httpd = NULL;
    rf_wmetrics_free(rt->wm);
    rt->wm = NULL;
}
