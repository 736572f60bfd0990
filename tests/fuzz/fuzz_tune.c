/* fuzz_tune: libFuzzer target for the tuner's parsers of outside input:
 * the search space of a workflow's tune step (rf_space_parse, then encode
 * and decode of a point drawn from the bytes) and an exec objective's
 * stdout (rf_tune_parse_output). A parsed space must decode every point to
 * values that encode back without error; a failure must say why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/rf_tune_trial.h"
#include "ml/rf_space.h"
#include "ml/rf_tune.h"

static void space(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    rf_space s;
    rf_err e = {0};
    if (!j)
        return;
    if (rf_space_parse(j, &s, &e) < 0) {
        if (!e.msg[0] || s.n)
            abort();
        json_decref(j);
        return;
    }
    double u[64], back[64];
    if (s.n <= 64) {
        for (size_t i = 0; i < s.n; i++)
            u[i] = (double)data[i % size] / 255.0;
        rf_space_activate(&s, u, 0.5);
        json_t *v = rf_space_decode(&s, u);
        if (rf_space_encode(&s, v, back, &e) < 0)
            abort();
        json_decref(v);
        rf_tune_cfg cfg = {.sampler = RF_SAMPLER_SOBOL, .n_obj = 1};
        if (s.n <= 20 && rf_tune_propose(&s, &cfg, NULL, 0, size, u, &e) < 0 && !e.msg[0])
            abort();
    }
    rf_space_free(&s);
    json_decref(j);
}

static void output(const uint8_t *data, size_t size)
{
    json_t *m = NULL, *steps = NULL;
    rf_err e = {0};
    int rc = rf_tune_parse_output((const char *)data, size, &m, &steps, &e);
    if ((rc == 0) != (m != NULL) || (rc < 0 && !e.msg[0]))
        abort();
    json_decref(m), json_decref(steps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        space(data + 1, size - 1);
    else
        output(data + 1, size - 1);
    return 0;
}
