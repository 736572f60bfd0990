/* rf_workflow_impl: private to rf_workflow*.c. The parser state, key tables
 * and the helpers the workflow files share. */
#ifndef RF_WORKFLOW_IMPL_H
#define RF_WORKFLOW_IMPL_H

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "engine/rf_workflow.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_str.h"
#include "engine/rf_template.h"

typedef struct parser {
    yaml_document_t doc;
    rf_workflow *wf;
    rf_wf_diags *d;
    const char *dir;   /* of the workflow file, for relative input paths */
    int exit_steps;    /* parsing on_exit: the steps made are exit handlers */
    yaml_document_t *cur;   /* the document nodes are read from: NULL = doc, else
                             * an included file's (rf_workflow_tpl.c) */
    struct rf_wf_incl *incl;   /* included files and templates (rf_workflow_tpl.c) */
} parser;

/* Called for each key of a mapping by rf_workflow_each_pair. */
typedef int (*pair_fn)(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud);


#define DIAG(p, node, ...) rf_workflow_diag_at((p)->d, rf_workflow_loc_of(node), __VA_ARGS__)

typedef struct step_ctx {
    rf_wf_step *s;
    yaml_node_t *tune;          /* its `tune:` value, lowered after its other keys */
    yaml_node_t **need_nodes;   /* explicit needs, resolved after all steps */
    size_t nneed_nodes;
    int has_worker;
    yaml_node_t *node;          /* the step's mapping */
    yaml_node_t *when_node, *fan_node;    /* where when and foreach were given */
    const char *when_file, *fan_file;     /* in an included file, or NULL */
    const char *file;           /* the step's key values are from (template) */
    int has_timeout;
} step_ctx;

extern const char *const rf_workflow_param_keys[];
extern const char *const rf_workflow_step_keys[];
extern const char *const rf_workflow_retry_keys[];
extern const char *const rf_workflow_fan_keys[];
extern const char *const rf_workflow_type_names[];
void rf_workflow_diag_at(rf_wf_diags *d, rf_wf_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
rf_wf_loc rf_workflow_loc_of(const yaml_node_t *n);
yaml_node_t *rf_workflow_node(parser *p, int id);
const char *rf_workflow_scalar(const yaml_node_t *n);
int rf_workflow_expect_scalar(parser *p, const yaml_node_t *n, const char *what);
int rf_workflow_expect_mapping(parser *p, const yaml_node_t *n, const char *what);
int rf_workflow_in_list(const char *const *list, const char *s);
void rf_workflow_unknown_word(parser *p, const yaml_node_t *n, const char *what,
                         const char *word, const char *const *known);
void rf_workflow_each_pair(parser *p, yaml_node_t *map, const char *const *known,
                      const char *what, pair_fn fn, void *ud);
int rf_workflow_valid_name(const char *s);
int rf_workflow_parse_long(const char *s, long *out);
int rf_workflow_parse_double(const char *s, double *out);
int rf_workflow_parse_bool(const char *s, int *out);
int rf_workflow_parse_duration_ms(const char *s, long *out);
int rf_workflow_canonical(int type, const char *s, rf_buf *out);
int rf_workflow_infer_type(const yaml_node_t *n);
int rf_workflow_params_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud);
void rf_workflow_apply_override(parser *p, const char *ov);
int rf_workflow_static_lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err);
void rf_workflow_parse_fan(parser *p, rf_wf_step *s, yaml_node_t *v, int chain);
rf_wf_loc rf_workflow_content_loc(const yaml_node_t *n);
int rf_workflow_steps_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                      void *ud);
void rf_workflow_resolve_step(parser *p, size_t i, step_ctx *c);
void rf_workflow_check_fan_from(parser *p, rf_wf_step *s, size_t i, yaml_node_t *fn);
/* Prescan and load YAML text into doc; -1 with a diag (syntax, alias bomb). */
int rf_workflow_yaml_doc(const char *text, size_t len, yaml_document_t *doc,
                         rf_wf_diags *d);
/* Templates (rf_workflow_tpl.c): register the file's templates and those of
 * its includes; apply the template a step `uses` (before the step's own
 * keys, which win; `with` merges key by key); free what they hold. */
void rf_workflow_tpl_top(parser *p, yaml_node_t *include, yaml_node_t *templates);
void rf_workflow_tpl_apply(parser *p, step_ctx *c, yaml_node_t *step, yaml_node_t *uses);
void rf_workflow_tpl_free(parser *p);
int rf_workflow_step_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                          void *ud);
void rf_workflow_parse_on_exit(parser *p, yaml_node_t *v, step_ctx **ctxs);
void rf_workflow_check_when(parser *p, rf_wf_step *s, size_t i, yaml_node_t *wn);
yaml_node_t *rf_workflow_find_key(parser *p, yaml_node_t *map, const char *key);
/* steps: as a list of {name: ..., ...} items (rf_workflow_list.c): each
 * item parsed as rf_workflow_steps_pair parses a mapping entry. */
void rf_workflow_steps_list(parser *p, yaml_node_t *seq, step_ctx **ctxs);
void rf_workflow_order_steps(parser *p);
/* rf_workflow_retention.c: the top-level `retention:` mapping. */
void rf_workflow_parse_retention(parser *p, yaml_node_t *v);
/* Append key=val at loc to *a (the file: the one being read, p->d->cur_file). */
void rf_workflow_kv_push(parser *p, rf_wf_kv **a, size_t *n, const char *key,
                         const char *val, rf_wf_loc loc);
void rf_workflow_mark(rf_wf_step *s, const char *path, rf_wf_loc loc);
/* Lower step i's `tune:` (rf_workflow_tune.c); may add a step to wf and
 * *ctxs (both reallocated). */
void rf_workflow_lower_tune(parser *p, step_ctx **ctxs, size_t i);

/* The load's cap on tasks: diags->max_tasks, else the default, never more
 * than the per-step ceiling. */
size_t rf_workflow_max_tasks(const parser *p);

#endif
