/* cmd_artifact: `ruvflow artifact inspect PATH|URL [--json] [--full]`.
 *
 * Decodes an artifact (fully: the checksum is verified) and prints its
 * header and its payload as JSON. Tensors are summarised as dtype, shape,
 * min, max and mean unless --full, which prints their values as nested
 * arrays; bin values likewise show their length, and base64 with --full.
 * JSON has no NaN or infinities: such floats print as the strings "NaN",
 * "Infinity" and "-Infinity". */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "base/rf_buf.h"
#include "store/rf_codec.h"
#include "base/rf_config.h"
#include "store/rf_store.h"

typedef struct inspect_opts {
    int json;
    int full;
} inspect_opts;

static json_t *json_float(double f)
{
    if (isnan(f))
        return json_string("NaN");
    if (isinf(f))
        return json_string(f > 0 ? "Infinity" : "-Infinity");
    return json_real(f);
}

/* jansson only takes valid UTF-8: replace invalid bytes with U+FFFD. */
static json_t *json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    rf_buf b = RF_BUF_INIT;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        json_t *one = len && i + len <= n ? json_stringn(s + i, len) : NULL;
        if (one) {
            rf_buf_add(&b, s + i, len);
            json_decref(one);
            i += len;
        } else {
            rf_buf_adds(&b, "\xef\xbf\xbd");
            i++;
        }
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    rf_buf_free(&b);
    return j;
}

static void base64(rf_buf *out, const uint8_t *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        rf_buf_add(out, q, 4);
    }
}

static json_t *bin_json(const rf_obj *o, const inspect_opts *io)
{
    json_t *j = json_pack("{s:s, s:I}", "type", "bin", "len", (json_int_t)o->u.s.len);
    if (io->full) {
        rf_buf b = RF_BUF_INIT;
        base64(&b, (const uint8_t *)o->u.s.p, o->u.s.len);
        json_object_set_new(j, "base64", json_stringn(b.data ? b.data : "", b.len));
        rf_buf_free(&b);
    }
    return j;
}

static double tensor_at(const rf_tensor *t, uint64_t i)
{
    switch (t->dtype) {
    case RF_F32: return ((const float *)t->data)[i];
    case RF_F64: return ((const double *)t->data)[i];
    case RF_I32: return ((const int32_t *)t->data)[i];
    case RF_I64: return (double)((const int64_t *)t->data)[i];
    default: return ((const uint8_t *)t->data)[i];
    }
}

static json_t *tensor_elem(const rf_tensor *t, uint64_t i)
{
    if (t->dtype == RF_I64)
        return json_integer(((const int64_t *)t->data)[i]);
    if (t->dtype == RF_I32 || t->dtype == RF_U8)
        return json_integer((json_int_t)tensor_at(t, i));
    return json_float(tensor_at(t, i));
}

/* Values of dimension d onwards, starting at flat index *i, as nested arrays. */
static json_t *tensor_values(const rf_tensor *t, int d, uint64_t *i)
{
    if (d == t->ndim)
        return tensor_elem(t, (*i)++);
    json_t *a = json_array();
    for (uint64_t k = 0; k < t->shape[d]; k++)
        json_array_append_new(a, tensor_values(t, d + 1, i));
    return a;
}

/* min, max and mean over the values that are not NaN; "nan" counts the rest. */
static void tensor_stats(json_t *j, const rf_tensor *t)
{
    uint64_t n = rf_tensor_count(t), nan = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        double v = tensor_at(t, i);
        if (isnan(v)) {
            nan++;
            continue;
        }
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    int any = n > nan, integral = t->dtype != RF_F32 && t->dtype != RF_F64;
    json_object_set_new(j, "min", !any ? json_null() : integral ?
                        json_integer((json_int_t)lo) : json_float(lo));
    json_object_set_new(j, "max", !any ? json_null() : integral ?
                        json_integer((json_int_t)hi) : json_float(hi));
    json_object_set_new(j, "mean", any ? json_float(sum / (double)(n - nan)) : json_null());
    if (nan)
        json_object_set_new(j, "nan", json_integer((json_int_t)nan));
}

static json_t *tensor_json(const rf_tensor *t, const inspect_opts *io)
{
    json_t *shape = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
    json_t *j = json_pack("{s:s, s:s, s:o}", "type", "tensor", "dtype",
                          rf_dtype_name(t->dtype), "shape", shape);
    tensor_stats(j, t);
    if (io->full) {
        uint64_t i = 0;
        json_object_set_new(j, "data", tensor_values(t, 0, &i));
    }
    return j;
}

static json_t *to_json(const rf_obj *o, const inspect_opts *io)
{
    json_t *j;
    switch (o->type) {
    case RF_BOOL: return json_boolean(o->u.b);
    case RF_INT: return json_integer(o->u.i);
    case RF_FLOAT: return json_float(o->u.f);
    case RF_STR: return json_text(o->u.s.p, o->u.s.len);
    case RF_BIN: return bin_json(o, io);
    case RF_TENSOR: return tensor_json(&o->u.t, io);
    case RF_ARRAY:
        j = json_array();
        for (size_t i = 0; i < o->u.a.len; i++)
            json_array_append_new(j, to_json(o->u.a.items[i], io));
        return j;
    case RF_MAP:
        j = json_object();
        for (size_t i = 0; i < o->u.m.len; i++) {
            json_t *key = json_text(o->u.m.keys[i], strlen(o->u.m.keys[i]));
            json_object_set_new(j, json_string_value(key), to_json(o->u.m.vals[i], io));
            json_decref(key);
        }
        return j;
    default:
        return json_null();
    }
}

static json_t *header_json(const rf_artifact_info *info)
{
    char cas[72];
    rf_codec_cas_key(cas, sizeof cas, info->sha256_hex);
    return json_pack("{s:i, s:s, s:s, s:I, s:I, s:s, s:s}", "version", info->version,
                     "codec", info->codec == 1 ? "zstd" : "unknown", "content_type",
                     info->content_type, "payload_size", (json_int_t)info->payload_size,
                     "compressed_size", (json_int_t)info->compressed_size, "sha256",
                     info->sha256_hex, "cas_key", cas);
}

static void print_header(const char *src, const rf_artifact_info *info)
{
    char cas[72];
    rf_codec_cas_key(cas, sizeof cas, info->sha256_hex);
    printf("artifact:      %s\n", src);
    printf("version:       %d\n", info->version);
    printf("codec:         %s\n", info->codec == 1 ? "zstd" : "unknown");
    printf("content type:  %s\n", info->content_type[0] ? info->content_type : "(none)");
    printf("payload size:  %llu bytes\n", (unsigned long long)info->payload_size);
    printf("compressed:    %llu bytes (%.2fx)\n", (unsigned long long)info->compressed_size,
           info->compressed_size ? (double)info->payload_size / (double)info->compressed_size : 0);
    printf("sha256:        %s\n", info->sha256_hex);
    printf("cas key:       %s\n", cas);
    printf("payload:\n");
}

/* Fetch an object URL (file://..., s3://...) into a new temporary file,
 * whose name goes to tmp (PATH_MAX bytes). */
static int fetch(const char *url, const rf_config *cfg, char *tmp, rf_err *err)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, PATH_MAX, "%s/ruvflow-inspect-XXXXXX", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return rf_err_errno(err, "create %s", tmp);
    close(fd);
    char *store_url = NULL, *key = NULL;
    rf_store *st = NULL;
    int r = rf_store_split_url(url, &store_url, &key, err);
    if (r == 0)
        r = rf_store_open(store_url, cfg, &st, err);
    if (r == 0)
        r = rf_store_get_file(st, key, tmp, err);
    rf_store_close(st);
    free(store_url);
    free(key);
    if (r < 0)
        unlink(tmp);   /* the store's message names the object already */
    return r;
}

/* Errors from reading the fetched copy start with its temporary name:
 * show the URL the user gave instead. */
static void name_url(rf_err *err, const char *tmp, const char *url)
{
    char msg[sizeof err->msg];
    size_t n = strlen(tmp);
    const char *rest = err->msg;
    if (!strncmp(rest, tmp, n) && !strncmp(rest + n, ": ", 2))
        rest += n + 2;
    snprintf(msg, sizeof msg, "%s", rest);
    rf_errf(err, err->code, "%s: %s", url, msg);
}

static int inspect(const char *src, const inspect_opts *io)
{
    rf_err err = {0};
    rf_config cfg;
    if (rf_config_load(&cfg, NULL, &err) < 0) {
        fprintf(stderr, "ruvflow artifact inspect: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    rf_codec_limits lim;
    rf_codec_limits_default(&lim);
    lim.max_payload = cfg.max_artifact;
    char tmp[PATH_MAX] = "";
    int r = strstr(src, "://") ? fetch(src, &cfg, tmp, &err) : 0;
    rf_config_free(&cfg);
    rf_artifact_info info;
    rf_obj *payload = NULL;
    if (r == 0) {
        r = rf_artifact_read(tmp[0] ? tmp : src, &lim, &info, &payload, &err);
        if (tmp[0]) {
            unlink(tmp);
            if (r < 0)
                name_url(&err, tmp, src);
        }
    }
    if (r < 0) {
        fprintf(stderr, "ruvflow artifact inspect: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    json_t *body = to_json(payload, io);
    rf_obj_free(payload);
    size_t flags = JSON_INDENT(2);
    if (io->json) {
        json_t *doc = json_pack("{s:o, s:o}", "header", header_json(&info), "payload", body);
        json_dumpf(doc, stdout, flags);
        json_decref(doc);
    } else {
        print_header(src, &info);
        json_dumpf(body, stdout, flags | JSON_ENCODE_ANY);
        json_decref(body);
    }
    putchar('\n');
    if (fflush(stdout) != 0) {
        perror("ruvflow artifact inspect: stdout");
        return 1;
    }
    return 0;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: ruvflow artifact inspect PATH|URL [--json] [--full]\n"
               "  --json   one JSON document: {\"header\": {...}, \"payload\": ...}\n"
               "  --full   print tensor values and bin contents instead of summaries\n");
    return f == stdout ? 0 : 2;
}

RF_CMD(artifact)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return usage(stdout);
    if (strcmp(argv[1], "inspect")) {
        fprintf(stderr, "ruvflow artifact: unknown subcommand \"%s\"\n", argv[1]);
        return usage(stderr);
    }
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"full", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    inspect_opts io = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': io.json = 1; break;
        case 'f': io.full = 1; break;
        case 'h': return usage(stdout);
        default: return usage(stderr);
        }
    }
    if (optind != argc - 2)
        return usage(stderr);
    return inspect(argv[optind + 1], &io);
}
