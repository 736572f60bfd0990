/* rf_space: parsing, validating and encoding hyperparameter search spaces
 * (see rf_space.h for the format). */
#include "ml/rf_space.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char rf_space_train_default[] =
    "{\"hidden\": {\"choice\": [[16], [32], [64], [32, 16], [64, 32], [128, 64],"
    " [64, 32, 16]]},"
    " \"activation\": {\"choice\": [\"relu\", \"leaky_relu\", \"tanh\"]},"
    " \"lr\": {\"loguniform\": [0.0001, 0.1]},"
    " \"batch\": {\"logint\": [8, 256]},"
    " \"optimizer\": {\"choice\": [\"adam\", \"adamw\", \"sgd\"]},"
    " \"momentum\": {\"uniform\": [0.0, 0.99], \"when\": {\"optimizer\": \"sgd\"}},"
    " \"weight_decay\": {\"loguniform\": [0.000001, 0.1], \"when\": {\"optimizer\": \"adamw\"}},"
    " \"dropout\": {\"uniform\": [0.0, 0.5]},"
    " \"l1\": {\"loguniform\": [0.0000001, 0.001]},"
    " \"l2\": {\"loguniform\": [0.0000001, 0.01]}}";

static const char *const kind_names[] = {"uniform", "loguniform", "int",
                                         "logint", "choice"};

static int parse_range(rf_param *p, const json_t *r, rf_err *err)
{
    const char *k = kind_names[p->kind];
    if (!json_is_array(r) || json_array_size(r) != 2 ||
        !json_is_number(json_array_get(r, 0)) ||
        !json_is_number(json_array_get(r, 1)))
        return rf_errf(err, RF_EINVAL, "%s: %s wants [low, high] numbers",
                       p->name, k);
    p->lo = json_number_value(json_array_get(r, 0));
    p->hi = json_number_value(json_array_get(r, 1));
    if (!isfinite(p->lo) || !isfinite(p->hi))
        return rf_errf(err, RF_EINVAL, "%s: %s bounds must be finite", p->name, k);
    int integral = p->kind == RF_P_INT || p->kind == RF_P_LOGINT;
    if (integral && (p->lo != floor(p->lo) || p->hi != floor(p->hi)))
        return rf_errf(err, RF_EINVAL, "%s: %s bounds must be integers",
                       p->name, k);
    /* Integers are exact in a double up to 2^53: beyond, a cell index
     * would not fit (found by fuzz_tune). */
    if (integral && (fabs(p->lo) > 9007199254740992.0 || fabs(p->hi) > 9007199254740992.0))
        return rf_errf(err, RF_EINVAL, "%s: %s bounds must be within +-2^53", p->name, k);
    if (integral ? p->lo > p->hi : p->lo >= p->hi)
        return rf_errf(err, RF_EINVAL, "%s: %s range [%g, %g] is %s", p->name,
                       k, p->lo, p->hi, p->lo == p->hi ? "empty" : "inverted");
    if (p->kind == RF_P_LOGUNIFORM && p->lo <= 0)
        return rf_errf(err, RF_EINVAL, "%s: loguniform bound must be > 0 (got %g)",
                       p->name, p->lo);
    if (p->kind == RF_P_LOGINT && p->lo < 1)
        return rf_errf(err, RF_EINVAL, "%s: logint bound must be >= 1 (got %g)",
                       p->name, p->lo);
    return 0;
}

static int parse_kind(rf_param *p, const json_t *def, rf_err *err)
{
    const char *key;
    json_t *v;
    int found = 0;
    json_object_foreach((json_t *)def, key, v) {
        if (!strcmp(key, "when"))
            continue;
        int k = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(key, kind_names[i]))
                k = i;
        if (k < 0)
            return rf_errf(err, RF_EINVAL, "%s: unknown key '%s' (want uniform, "
                           "loguniform, int, logint, choice or when)", p->name, key);
        if (found++)
            return rf_errf(err, RF_EINVAL, "%s: more than one distribution", p->name);
        p->kind = k;
        if (k != RF_P_CHOICE) {
            if (parse_range(p, v, err) < 0)
                return -1;
            continue;
        }
        if (!json_is_array(v) || json_array_size(v) == 0)
            return rf_errf(err, RF_EINVAL, "%s: choice wants a non-empty list",
                           p->name);
        for (size_t i = 0; i < json_array_size(v); i++)
            for (size_t j = 0; j < i; j++)
                if (json_equal(json_array_get(v, i), json_array_get(v, j)))
                    return rf_errf(err, RF_EINVAL, "%s: choice %zu repeats "
                                   "choice %zu", p->name, i, j);
        p->choices = json_incref(v);
        p->n_choices = json_array_size(v);
    }
    if (!found)
        return rf_errf(err, RF_EINVAL, "%s: no distribution (want uniform, "
                       "loguniform, int, logint or choice)", p->name);
    return 0;
}

static int choice_index(const rf_param *p, const json_t *v)
{
    for (size_t i = 0; i < p->n_choices; i++)
        if (json_equal(json_array_get(p->choices, i), v))
            return (int)i;
    return -1;
}

static int link_condition(rf_space *s, size_t i, const json_t *when, rf_err *err)
{
    rf_param *p = &s->p[i];
    if (!when)
        return 0;
    if (!json_is_object(when) || json_object_size(when) != 1)
        return rf_errf(err, RF_EINVAL, "%s: when wants {parameter: value}",
                       p->name);
    const char *pname = json_object_iter_key(json_object_iter((json_t *)when));
    const json_t *pval = json_object_iter_value(json_object_iter((json_t *)when));
    int pi = rf_space_find(s, pname);
    if (pi < 0)
        return rf_errf(err, RF_EINVAL, "%s: when names unknown parameter '%s'",
                       p->name, pname);
    if ((size_t)pi == i || s->p[pi].kind != RF_P_CHOICE)
        return rf_errf(err, RF_EINVAL, "%s: when must name another choice "
                       "parameter ('%s' is not one)", p->name, pname);
    int ci = choice_index(&s->p[pi], pval);
    if (ci < 0)
        return rf_errf(err, RF_EINVAL, "%s: when: '%s' has no such choice",
                       p->name, pname);
    p->parent = pi;
    p->parent_choice = (size_t)ci;
    return 0;
}

/* Activation order: parents first; a cycle is an error. */
static int order_params(rf_space *s, rf_err *err)
{
    s->order = malloc((s->n ? s->n : 1) * sizeof *s->order);
    char *done = calloc(s->n ? s->n : 1, 1);
    if (!s->order || !done) {
        free(done);
        return rf_errf(err, RF_ENOMEM, "space: out of memory");
    }
    size_t k = 0;
    for (size_t round = 0; round < s->n && k < s->n; round++)
        for (size_t i = 0; i < s->n; i++)
            if (!done[i] && (s->p[i].parent < 0 || done[s->p[i].parent])) {
                done[i] = 1;
                s->order[k++] = i;
            }
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++)
        if (!done[i])
            rc = rf_errf(err, RF_EINVAL, "%s: conditions form a cycle", s->p[i].name);
    free(done);
    return rc;
}

int rf_space_parse(const json_t *spec, rf_space *s, rf_err *err)
{
    memset(s, 0, sizeof *s);
    if (!json_is_object(spec) || json_object_size(spec) == 0)
        return rf_errf(err, RF_EINVAL, "space: want a non-empty map of parameters");
    s->p = calloc(json_object_size(spec), sizeof *s->p);
    if (!s->p)
        return rf_errf(err, RF_ENOMEM, "space: out of memory");
    const char *key;
    json_t *def;
    int rc = 0;
    json_object_foreach((json_t *)spec, key, def) {
        rf_param *p = &s->p[s->n++];
        p->parent = -1;
        p->name = strdup(key);
        if (!p->name) {
            rc = rf_errf(err, RF_ENOMEM, "space: out of memory");
            break;
        }
        if (!json_is_object(def)) {
            rc = rf_errf(err, RF_EINVAL, "%s: want {uniform|loguniform|int|"
                         "logint|choice: ...}", key);
            break;
        }
        if ((rc = parse_kind(p, def, err)) < 0)
            break;
    }
    size_t i = 0;
    json_object_foreach((json_t *)spec, key, def) {
        if (rc < 0)
            break;
        rc = link_condition(s, i++, json_object_get(def, "when"), err);
    }
    if (rc == 0)
        rc = order_params(s, err);
    if (rc < 0)
        rf_space_free(s);
    return rc;
}

void rf_space_free(rf_space *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->p[i].name);
        json_decref(s->p[i].choices);
    }
    free(s->p);
    free(s->order);
    memset(s, 0, sizeof *s);
}

int rf_space_find(const rf_space *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i].name && !strcmp(s->p[i].name, name))
            return (int)i;
    return -1;
}

size_t rf_space_levels(const rf_space *s, size_t i)
{
    const rf_param *p = &s->p[i];
    if (p->kind == RF_P_CHOICE)
        return p->n_choices;
    if (p->kind == RF_P_INT || p->kind == RF_P_LOGINT)
        return (size_t)(p->hi - p->lo) + 1;
    return 0;
}

static size_t cell(double u, size_t levels)
{
    size_t c = (size_t)(u * (double)levels);
    return c >= levels ? levels - 1 : c;
}

/* The integer a logint coordinate stands for: log-uniform over the cells
 * [v - 0.5, v + 0.5), so each integer gets its share of log space. */
static double logint_value(const rf_param *p, double u)
{
    double a = log(p->lo - 0.5), b = log(p->hi + 0.5);
    double v = round(exp(a + u * (b - a)));
    return v < p->lo ? p->lo : v > p->hi ? p->hi : v;
}

static double logint_unit(const rf_param *p, double v)
{
    double a = log(p->lo - 0.5), b = log(p->hi + 0.5);
    double lo = (log(v - 0.5) - a) / (b - a), hi = (log(v + 0.5) - a) / (b - a);
    return (lo + hi) / 2;
}

int rf_space_active(const rf_space *s, const double *u, size_t i)
{
    const rf_param *p = &s->p[i];
    if (p->parent < 0)
        return 1;
    double pu = u[p->parent];
    if (isnan(pu))
        return 0;
    return cell(pu, s->p[p->parent].n_choices) == p->parent_choice;
}

void rf_space_activate(const rf_space *s, double *u, double fill)
{
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->order[k];
        if (!rf_space_active(s, u, i))
            u[i] = NAN;
        else if (isnan(u[i]))
            u[i] = fill;
        else
            u[i] = u[i] < 0 ? 0 : u[i] > 1 ? 1 : u[i];
    }
}

void rf_space_snap(const rf_space *s, double *u)
{
    for (size_t i = 0; i < s->n; i++) {
        const rf_param *p = &s->p[i];
        if (isnan(u[i]))
            continue;
        if (p->kind == RF_P_LOGINT)
            u[i] = logint_unit(p, logint_value(p, u[i]));
        else if (rf_space_levels(s, i))
            u[i] = ((double)cell(u[i], rf_space_levels(s, i)) + 0.5) /
                   (double)rf_space_levels(s, i);
    }
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static json_t *decode_one(const rf_param *p, double u)
{
    switch (p->kind) {
    case RF_P_UNIFORM:
        return json_real(clamp(p->lo + u * (p->hi - p->lo), p->lo, p->hi));
    case RF_P_LOGUNIFORM:
        return json_real(clamp(exp(log(p->lo) + u * (log(p->hi) - log(p->lo))),
                               p->lo, p->hi));
    case RF_P_INT:
        return json_integer((json_int_t)p->lo +
                            (json_int_t)cell(u, (size_t)(p->hi - p->lo) + 1));
    case RF_P_LOGINT:
        return json_integer((json_int_t)logint_value(p, u));
    default:
        return json_incref(json_array_get(p->choices, cell(u, p->n_choices)));
    }
}

json_t *rf_space_decode(const rf_space *s, const double *u)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < s->n; i++)
        if (!isnan(u[i]) && rf_space_active(s, u, i))
            json_object_set_new(o, s->p[i].name, decode_one(&s->p[i], u[i]));
    return o;
}

static int encode_one(const rf_param *p, const json_t *v, double *u, rf_err *err)
{
    if (p->kind == RF_P_CHOICE) {
        int c = choice_index(p, v);
        if (c < 0)
            return rf_errf(err, RF_EINVAL, "%s: value is not one of the choices",
                           p->name);
        *u = (c + 0.5) / (double)p->n_choices;
        return 0;
    }
    if (!json_is_number(v))
        return rf_errf(err, RF_EINVAL, "%s: want a number", p->name);
    double x = json_number_value(v);
    if (!(x >= p->lo && x <= p->hi))
        return rf_errf(err, RF_EINVAL, "%s: %g is outside [%g, %g]", p->name, x,
                       p->lo, p->hi);
    if (p->kind == RF_P_UNIFORM)
        *u = (x - p->lo) / (p->hi - p->lo);
    else if (p->kind == RF_P_LOGUNIFORM)
        *u = (log(x) - log(p->lo)) / (log(p->hi) - log(p->lo));
    else if (x != floor(x))
        return rf_errf(err, RF_EINVAL, "%s: %g is not an integer", p->name, x);
    else if (p->kind == RF_P_INT)
        *u = (x - p->lo + 0.5) / (p->hi - p->lo + 1);
    else
        *u = logint_unit(p, x);
    return 0;
}

int rf_space_encode(const rf_space *s, const json_t *values, double *u,
                    rf_err *err)
{
    for (size_t i = 0; i < s->n; i++)
        u[i] = NAN;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->order[k];
        const json_t *v = json_object_get(values, s->p[i].name);
        int active = rf_space_active(s, u, i);
        if (!v && active)
            return rf_errf(err, RF_EINVAL, "%s: missing", s->p[i].name);
        if (v && !active)
            return rf_errf(err, RF_EINVAL, "%s: set although its condition "
                           "does not hold", s->p[i].name);
        if (v && encode_one(&s->p[i], v, &u[i], err) < 0)
            return -1;
    }
    return 0;
}
