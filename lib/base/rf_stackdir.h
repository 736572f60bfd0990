/* rf_stackdir: finds the local stack of `ruvflow up` the way git finds its
 * repository: the nearest folder, from the current one up to /, that holds
 * a `.ruvflow/` folder. RUVFLOW_CEILING_DIRECTORIES (colon-separated
 * absolute paths, like GIT_CEILING_DIRECTORIES) stops the walk before it
 * enters one of them. */
#ifndef RF_STACKDIR_H
#define RF_STACKDIR_H

#define RF_STACK_DIR ".ruvflow"

typedef struct rf_stackdir {
    char *root;     /* folder that holds .ruvflow/, NULL if none was found */
    char *looked;   /* the folders searched, ", "-separated, for messages */
} rf_stackdir;

/* Walk up from start (NULL = the current folder). Never fails: a missing
 * stack leaves root NULL. The caller frees with rf_stackdir_free. */
void rf_stackdir_find(const char *start, rf_stackdir *sd);
void rf_stackdir_free(rf_stackdir *sd);

/* The path of a file inside the stack (root/.ruvflow/name), malloc'd;
 * NULL without a stack. */
char *rf_stackdir_path(const rf_stackdir *sd, const char *name);

/* The Redis URL `ruvflow up` recorded in .ruvflow/redis.url, malloc'd;
 * NULL without a stack or a recorded URL. */
char *rf_stackdir_redis_url(const rf_stackdir *sd);

#endif
