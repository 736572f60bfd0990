/* rf_space: a hyperparameter search space and its unit-cube encoding.
 *
 * A space is a JSON object of named parameters (the `space:` of a `tune`
 * step), each one of
 *   {"uniform": [a, b]}      real in [a, b]
 *   {"loguniform": [a, b]}   real in [a, b], uniform in log, a > 0
 *   {"int": [a, b]}          integer in [a, b]
 *   {"logint": [a, b]}       integer in [a, b], uniform in log, a >= 1
 *   {"choice": [v, ...]}     one of the JSON values (strings, numbers, lists)
 * optionally with "when": {"other": value}: the parameter exists only when
 * the choice parameter `other` takes `value` (e.g. momentum only for sgd).
 *
 * Samplers work on u in [0, 1]^n, one coordinate per parameter in
 * declaration order; an inactive parameter's coordinate is NaN. Decoding
 * maps u to the JSON object of the active parameters' values. */
#ifndef RF_SPACE_H
#define RF_SPACE_H

#include <stddef.h>
#include <jansson.h>

#include "base/rf_err.h"

enum rf_param_kind {
    RF_P_UNIFORM = 0, RF_P_LOGUNIFORM, RF_P_INT, RF_P_LOGINT, RF_P_CHOICE
};

typedef struct rf_param {
    char *name;
    int kind;            /* enum rf_param_kind */
    double lo, hi;       /* numeric kinds */
    json_t *choices;     /* RF_P_CHOICE: the array (a reference we own) */
    size_t n_choices;
    int parent;          /* index of the choice parameter it depends on, -1 */
    size_t parent_choice;/* the parent's choice index that activates it */
} rf_param;

typedef struct rf_space {
    rf_param *p;
    size_t n;
    size_t *order;       /* parents before children (activation order) */
} rf_space;

/* The default space of a train-stage search (`space: default`): hidden
 * layers and widths, activation, learning rate, batch size, optimizer (with
 * momentum for sgd), dropout, L1, L2 and weight decay (for adamw). */
extern const char rf_space_train_default[];

/* Parse and validate; on error the message starts with the parameter's
 * name ("lr: loguniform bound must be > 0") and *s is left empty. */
int rf_space_parse(const json_t *spec, rf_space *s, rf_err *err);
void rf_space_free(rf_space *s);
/* Index of a parameter by name, -1 when absent. */
int rf_space_find(const rf_space *s, const char *name);

/* Number of distinct values of parameter i (0 for continuous kinds). */
size_t rf_space_levels(const rf_space *s, size_t i);
/* Set the coordinates of inactive parameters to NaN and give active ones
 * that are NaN the value `fill` (0.5 centre, or a caller's draw). */
void rf_space_activate(const rf_space *s, double *u, double fill);
/* 1 when parameter i is active under u (its parent chose its value). */
int rf_space_active(const rf_space *s, const double *u, size_t i);
/* Snap u onto the values it decodes to (centre of an integer's or a
 * choice's cell), so equal decodings have equal u. */
void rf_space_snap(const rf_space *s, double *u);

/* u -> {"name": value, ...} of the active parameters (new reference). */
json_t *rf_space_decode(const rf_space *s, const double *u);
/* values -> u (inverse of decode); a value outside the space is an error. */
int rf_space_encode(const rf_space *s, const json_t *values, double *u,
                    rf_err *err);

#endif
