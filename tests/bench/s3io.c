/* s3io: drive the s3:// backend from the shell, for the S3 benchmark and the
 * awscli cross-check (tests/integration/s3_awscli.sh). It talks to the
 * backend's ops table directly, so it works without the store core.
 *
 *   s3io [opts] put FILE s3://bucket/key      (single PUT or multipart)
 *   s3io [opts] write s3://bucket/key         (stdin through the streaming writer)
 *   s3io [opts] get s3://bucket/key FILE|-    [OFF LEN]
 *   s3io [opts] head|rm|restore s3://bucket/key
 *   s3io [opts] ls s3://bucket/prefix [-r]
 *   s3io [opts] cp s3://bucket/src s3://bucket/dst
 *
 * opts: --part-size N --threshold N --retries N --timeout-ms N
 *       --storage-class C. Endpoint and credentials: AWS_* environment. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "store/rf_s3.h"
#include "store/rf_s3_client.h"
#include "store/rf_store.h"

static int write_out(void *ud, const void *p, size_t n)
{
    return fwrite(p, 1, n, ud) == n ? 0 : -1;
}

static int print_key(void *ud, const char *key, const rf_store_meta *m)
{
    (void)ud;
    printf("%" PRIu64 "\t%s\t%s\n", m->size, m->storage_class[0] ? m->storage_class : "-", key);
    return 0;
}

/* "s3://bucket/key" -> store "s3://bucket", key. */
static int split(const char *url, char *store, size_t n, const char **key)
{
    const char *slash = strncmp(url, "s3://", 5) ? NULL : strchr(url + 5, '/');
    if (!slash)
        return -1;
    snprintf(store, n, "%.*s", (int)(slash - url), url);
    *key = slash + 1;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: s3io [opts] put|write|get|head|rm|restore|ls|cp ...\n");
    return 2;
}

static int run(rf_store *s, const char *cmd, const char *key, int argc, char **argv,
               const rf_put_opts *po, rf_err *err)
{
    const struct rf_store_ops *op = s->ops;
    if (!strcmp(cmd, "put") && argc == 1)
        return op->put_file(s, key, argv[0], po, err);
    if (!strcmp(cmd, "write")) {
        rf_store_writer *w;
        if (op->writer_open(s, key, po, &w, err) < 0)
            return -1;
        static char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
            if (op->writer_write(w, buf, n, err) < 0) {
                op->writer_abort(w);
                return -1;
            }
        return op->writer_commit(w, err);
    }
    if (!strcmp(cmd, "get") && (argc == 1 || argc == 3)) {
        FILE *f = strcmp(argv[0], "-") ? fopen(argv[0], "wb") : stdout;
        if (!f)
            return rf_err_errno(err, "%s", argv[0]);
        uint64_t off = argc == 3 ? strtoull(argv[1], NULL, 10) : 0;
        uint64_t len = argc == 3 ? strtoull(argv[2], NULL, 10) : 0;
        int rc = op->get_stream(s, key, off, len, write_out, f, err);
        if (f != stdout && fclose(f) != 0 && rc == 0)
            rc = rf_err_errno(err, "%s", argv[0]);
        return rc;
    }
    if (!strcmp(cmd, "head")) {
        rf_store_meta m;
        if (op->head(s, key, &m, err) < 0)
            return -1;
        printf("size %" PRIu64 "\netag %s\nclass %s\nrestore %d\nmtime %" PRId64 "\n", m.size,
               m.etag, m.storage_class, m.restore_state, m.mtime);
        return 0;
    }
    if (!strcmp(cmd, "rm"))
        return op->del(s, key, err);
    if (!strcmp(cmd, "restore"))
        return op->restore(s, key, 1, err);
    if (!strcmp(cmd, "ls"))
        return op->list(s, key, argc && !strcmp(argv[0], "-r"), print_key, NULL, err);
    if (!strcmp(cmd, "cp") && argc == 1) {
        char st[512];
        const char *dst;
        if (split(argv[0], st, sizeof st, &dst) < 0)
            return rf_errf(err, RF_EINVAL, "bad destination %s", argv[0]);
        return op->copy(s, key, dst, po, err);
    }
    return rf_errf(err, RF_EINVAL, "bad command line");
}

int main(int argc, char **argv)
{
    rf_config cfg = {0};
    rf_s3_conf_from_env(&cfg.s3);
    rf_put_opts po = {0};
    int i = 1;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        uint64_t v = strtoull(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--part-size"))
            cfg.s3.part_size = v;
        else if (!strcmp(argv[i], "--threshold"))
            cfg.s3.multipart_threshold = v;
        else if (!strcmp(argv[i], "--retries"))
            cfg.s3.max_retries = (int)v;
        else if (!strcmp(argv[i], "--timeout-ms"))
            cfg.s3.timeout_ms = (long)v;
        else if (!strcmp(argv[i], "--storage-class"))
            po.storage_class = argv[i + 1];
        else
            return usage();
    }
    if (argc - i < 2)
        return usage();
    const char *cmd = argv[i], *url = argv[i + 1], *key;
    if (!strcmp(cmd, "put") && argc - i == 3) { /* put FILE URL */
        char *t = argv[i + 1];
        argv[i + 1] = argv[i + 2];
        argv[i + 2] = t;
        url = argv[i + 1];
    }
    char root[512];
    if (split(url, root, sizeof root, &key) < 0)
        return usage();
    rf_store *s;
    rf_err err = {0};
    int rc = rf_store_s3_open(root, &cfg, &s, &err);
    if (rc == 0) {
        rc = run(s, cmd, key, argc - i - 2, argv + i + 2, &po, &err);
        s->ops->close(s);
    }
    rf_s3_conf_free(&cfg.s3);
    if (rc < 0) {
        fprintf(stderr, "s3io: %s: %s\n", cmd, err.msg);
        return rf_err_exit_status(&err);
    }
    return 0;
}
