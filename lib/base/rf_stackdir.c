/* rf_stackdir: finding the local stack's folder by walking up the parents;
 * see rf_stackdir.h. */
#include "base/rf_stackdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Is dir one of the colon-separated ceilings? */
static int is_ceiling(const char *dir, const char *ceilings)
{
    size_t dl = strlen(dir);
    for (const char *p = ceilings; p && *p;) {
        size_t n = strcspn(p, ":");
        size_t m = n;
        while (m > 1 && p[m - 1] == '/')
            m--;
        if (m == dl && !strncmp(p, dir, dl))
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

/* Cut the last component of an absolute path in place; 0 at the root. */
static int parent(char *dir)
{
    size_t n = strlen(dir);
    if (n <= 1)
        return 0;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return 1;
}

void rf_stackdir_find(const char *start, rf_stackdir *sd)
{
    memset(sd, 0, sizeof *sd);
    char cwd[4096];
    if (!start) {
        if (!getcwd(cwd, sizeof cwd))
            return;
        start = cwd;
    }
    char *dir = rf_xstrdup(start);
    const char *ceilings = getenv("RUVFLOW_CEILING_DIRECTORIES");
    rf_buf looked = RF_BUF_INIT;
    int first = 1;
    for (;;) {
        if (!first && is_ceiling(dir, ceilings))
            break;
        first = 0;
        rf_buf probe = RF_BUF_INIT;
        rf_buf_addf(&probe, "%s%s" RF_STACK_DIR, dir, dir[strlen(dir) - 1] == '/' ? "" : "/");
        int found = is_dir(probe.data);
        rf_buf_free(&probe);
        if (found) {
            sd->root = dir;
            rf_buf_free(&looked);
            return;
        }
        rf_buf_addf(&looked, "%s%s", looked.len ? ", " : "", dir);
        if (!parent(dir))
            break;
    }
    free(dir);
    sd->looked = rf_buf_detach(&looked, NULL);
}

void rf_stackdir_free(rf_stackdir *sd)
{
    free(sd->root);
    free(sd->looked);
    memset(sd, 0, sizeof *sd);
}

char *rf_stackdir_path(const rf_stackdir *sd, const char *name)
{
    if (!sd->root)
        return NULL;
    rf_buf b = RF_BUF_INIT;
    size_t n = strlen(sd->root);
    rf_buf_addf(&b, "%s%s" RF_STACK_DIR "/%s", sd->root,
                n && sd->root[n - 1] == '/' ? "" : "/", name);
    return rf_buf_detach(&b, NULL);
}

char *rf_stackdir_redis_url(const rf_stackdir *sd)
{
    char *path = rf_stackdir_path(sd, "redis.url");
    if (!path)
        return NULL;
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return NULL;
    char line[1024];
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return NULL;
    line[strcspn(line, "\r\n")] = '\0';
    return line[0] ? rf_xstrdup(line) : NULL;
}
