/* rf_runtime_io: task inputs, outputs and state in the object store; see
 * rf_runtime_io.h. */
#include "engine/rf_runtime_io.h"

#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "store/rf_codec.h"
#include "base/rf_hash.h"
#include "store/rf_store.h"

#define MAX_OPEN_STORES 8

typedef struct open_store {
    char *url;
    rf_store *s;
} open_store;

struct rf_rtio {
    const rf_config *cfg;
    char *store_url;
    char *tiers[RF_TIER_COUNT];
    open_store open[MAX_OPEN_STORES];
    size_t nopen;
};

rf_rtio *rf_rtio_new(const char *store_url, const char *const tier_urls[RF_TIER_COUNT],
                     const rf_config *cfg)
{
    rf_rtio *io = rf_xcalloc(1, sizeof *io);
    io->cfg = cfg;
    io->store_url = rf_xstrdup(store_url);
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        if (tier_urls && tier_urls[i]) {
            io->tiers[i] = rf_xstrdup(tier_urls[i]);
            continue;
        }
        /* As rf_config does: unset tiers are prefixes of the store. */
        rf_buf b = RF_BUF_INIT;
        size_t n = strlen(store_url);
        rf_buf_addf(&b, "%s%s%s", store_url, n && store_url[n - 1] == '/' ? "" : "/",
                    rf_tier_name(i));
        io->tiers[i] = rf_buf_detach(&b, NULL);
    }
    return io;
}

void rf_rtio_free(rf_rtio *io)
{
    if (!io)
        return;
    for (size_t i = 0; i < io->nopen; i++) {
        rf_store_close(io->open[i].s);
        free(io->open[i].url);
    }
    for (int i = 0; i < RF_TIER_COUNT; i++)
        free(io->tiers[i]);
    free(io->store_url);
    free(io);
}

/* An open store for url, opened on first use and kept. */
static int store_for(rf_rtio *io, const char *url, rf_store **out, rf_err *err)
{
    for (size_t i = 0; i < io->nopen; i++)
        if (!strcmp(io->open[i].url, url)) {
            *out = io->open[i].s;
            return 0;
        }
    rf_store *s;
    if (rf_store_open(url, io->cfg, &s, err) != 0)
        return -1;
    if (io->nopen == MAX_OPEN_STORES) { /* rare: many input stores; recycle the oldest */
        rf_store_close(io->open[0].s);
        free(io->open[0].url);
        memmove(io->open, io->open + 1, (MAX_OPEN_STORES - 1) * sizeof io->open[0]);
        io->nopen--;
    }
    io->open[io->nopen].url = rf_xstrdup(url);
    io->open[io->nopen++].s = s;
    *out = s;
    return 0;
}

/* The tier whose URL url lies under (longest match), or -1; *rest is the
 * key after the tier's URL and its '/'. */
static int tier_of(const rf_rtio *io, const char *url, const char **rest)
{
    int best = -1;
    size_t bl = 0;
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        size_t l = strlen(io->tiers[i]);
        while (l && io->tiers[i][l - 1] == '/')
            l--;
        if (l > bl && !strncmp(url, io->tiers[i], l) && url[l] == '/') {
            best = i;
            bl = l;
        }
    }
    if (best >= 0)
        *rest = url + bl + 1;
    return best;
}

/* Download url to path; 0, or -1 with err. */
static int get_url(rf_rtio *io, const char *url, const char *path, rf_err *err)
{
    char *root = NULL, *key = NULL;
    rf_store *s;
    int rc = rf_store_split_url(url, &root, &key, err) != 0 ||
             store_for(io, root, &s, err) != 0 || rf_store_get_file(s, key, path, err) != 0
             ? -1 : 0;
    free(root);
    free(key);
    return rc;
}

/* An output moved to another tier (`ruvflow store tier`) keeps its key:
 * when it is not at url any more, look for it in the other tiers, hottest
 * first. */
static int get_moved(rf_rtio *io, const char *url, const char *path, rf_err *err)
{
    const char *key;
    int from = tier_of(io, url, &key);
    if (from < 0)
        return -1;
    for (int t = 0; t < RF_TIER_COUNT; t++) {
        if (t == from)
            continue;
        rf_buf alt = RF_BUF_INIT;
        size_t l = strlen(io->tiers[t]);
        rf_buf_addf(&alt, "%s%s%s", io->tiers[t], l && io->tiers[t][l - 1] == '/' ? "" : "/",
                    key);
        rf_err e2 = {0};
        int rc = get_url(io, alt.data, path, &e2);
        rf_buf_free(&alt);
        if (rc == 0)
            return 0;
        if (e2.code != RF_ENOTFOUND) {
            *err = e2;
            return -1;
        }
    }
    return -1;
}

static int fetch_one(rf_rtio *io, const char *name, size_t i, const char *url,
                     const char *dir, rf_task *t, rf_err *err)
{
    char *root = NULL, *key = NULL;
    char path[PATH_MAX];
    int rc = -1;
    if (rf_store_split_url(url, &root, &key, err) != 0)
        goto out;
    /* in/NAME.I/BASENAME: the file keeps its name (and so its extension,
     * which handlers may go by); messages name the URL (origin). */
    const char *base = strrchr(key, '/');
    base = base && base[1] ? base + 1 : *key ? key : name;
    snprintf(path, sizeof path, "%s/%s.%zu", dir, name, i);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        rf_err_errno(err, "mkdir %s", path);
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s.%zu/%s", dir, name, i, base);
    if (get_url(io, url, path, err) != 0 &&
        (err->code != RF_ENOTFOUND || get_moved(io, url, path, err) != 0))
        goto out;
    rf_task_add_input(t, name, path);
    rf_task_set_input_origin(t, path, url);
    rc = 0;
out:
    if (rc)
        rf_err_prefix(err, "input %s[%zu] (%s)", name, i, url);
    free(root);
    free(key);
    return rc;
}

static int name_ok(const char *name, rf_err *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-.") != n || name[0] == '.')
        return rf_errf(err, RF_EINVAL, "input name \"%.64s\" is not a plain name", name);
    return 0;
}

int rf_rtio_fetch_inputs(rf_rtio *io, const char *inputs_json, const char *dir, rf_task *t,
                         rf_err *err)
{
    json_error_t je;
    json_t *o = json_loads(inputs_json ? inputs_json : "{}", 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return rf_errf(err, RF_ECORRUPT, "inputs: not a JSON object");
    }
    const char *name;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, name, v) {
        if (name_ok(name, err) != 0) {
            rc = -1;
            break;
        }
        if (json_is_string(v)) {
            rc = fetch_one(io, name, 0, json_string_value(v), dir, t, err);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (!json_is_string(e)) {
                    rc = rf_errf(err, RF_ECORRUPT, "input %s[%zu]: not a URL string", name, i);
                    break;
                }
                if ((rc = fetch_one(io, name, i, json_string_value(e), dir, t, err)) != 0)
                    break;
            }
        } else {
            rc = rf_errf(err, RF_ECORRUPT, "input %s: expected a URL or a list of URLs", name);
        }
        if (rc)
            break;
    }
    json_decref(o);
    return rc;
}

/* The content address of a file: an artifact's payload digest (so equal
 * payloads share an object whatever their compression), else the SHA-256
 * of its bytes. */
static int cas_key_of(const char *path, char *key, size_t n, rf_err *err)
{
    unsigned char head[16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "open %s", path);
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (rf_artifact_sniff(head, got)) {
        rf_artifact_info info;
        if (rf_artifact_read_header(path, &info, err) != 0)
            return -1;
        rf_codec_cas_key(key, n, info.sha256_hex);
        return 0;
    }
    char hex[RF_SHA256_HEX];
    if (rf_sha256_file(path, hex) != 0)
        return rf_err_errno(err, "hash %s", path);
    rf_codec_cas_key(key, n, hex);
    return 0;
}

int rf_rtio_upload_outputs(rf_rtio *io, const rf_task *t, const char *tier, char **json,
                           rf_err *err)
{
    *json = NULL;
    int ti = rf_tier_parse(tier ? tier : "hot");
    if (ti < 0)
        return rf_errf(err, RF_EINVAL, "unknown tier \"%s\"", tier);
    /* The tier's storage class (rf_tier's placement rule): an opt-in class
     * such as STANDARD_IA for warm is what makes the tier cheaper. */
    rf_put_opts put = {.storage_class = io->cfg ? io->cfg->tiers[ti].storage_class : NULL};
    json_t *o = json_object();
    for (size_t i = 0; i < rf_task_output_count(t); i++) {
        const char *name = rf_task_output_name(t, i), *path = rf_task_output_path(t, i);
        char key[128];
        rf_store *s;
        if (cas_key_of(path, key, sizeof key, err) != 0 ||
            store_for(io, io->tiers[ti], &s, err) != 0) {
            json_decref(o);
            return rf_err_prefix(err, "output %s", name);
        }
        /* Content-addressed: an object already there is this very content. */
        int have = rf_store_exists(s, key, err);
        if (have < 0 || (!have && rf_store_put_file(s, key, path, &put, err) != 0)) {
            json_decref(o);
            return rf_err_prefix(err, "upload output %s", name);
        }
        rf_buf url = RF_BUF_INIT;
        size_t l = strlen(io->tiers[ti]);
        rf_buf_addf(&url, "%s%s%s", io->tiers[ti],
                    l && io->tiers[ti][l - 1] == '/' ? "" : "/", key);
        json_object_set_new(o, name, json_string(url.data));
        rf_buf_free(&url);
    }
    *json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return *json ? 0 : rf_errf(err, RF_ENOMEM, "outputs: cannot format JSON");
}

static void state_key(const char *task_id, const char *name, char *out, size_t n)
{
    /* Task ids may hold '/', which would nest keys; keep one segment. */
    size_t o = (size_t)snprintf(out, n, "state/");
    for (const char *p = task_id; *p && o + 1 < n; p++)
        out[o++] = *p == '/' ? '_' : *p;
    snprintf(out + o, n - o, "/%s", name);
}

int rf_rtio_state_save(rf_rtio *io, const char *task_id, const char *name, const char *path,
                       rf_err *err)
{
    char key[512];
    rf_store *s;
    state_key(task_id, name, key, sizeof key);
    if (rf_store_key_valid(key, err) != 0 || store_for(io, io->store_url, &s, err) != 0 ||
        rf_store_put_file(s, key, path, NULL, err) != 0)
        return rf_err_prefix(err, "save state %s", name);
    return 0;
}

int rf_rtio_state_load(rf_rtio *io, const char *task_id, const char *name, const char *path,
                       rf_err *err)
{
    char key[512];
    rf_store *s;
    state_key(task_id, name, key, sizeof key);
    if (rf_store_key_valid(key, err) != 0 || store_for(io, io->store_url, &s, err) != 0)
        return rf_err_prefix(err, "load state %s", name);
    int have = rf_store_exists(s, key, err);
    if (have <= 0)
        return have < 0 ? rf_err_prefix(err, "load state %s", name) : 0;
    if (rf_store_get_file(s, key, path, err) != 0)
        return rf_err_prefix(err, "load state %s", name);
    return 1;
}
