/* bench_codec: encode and decode throughput of the artifact codec on
 * trained-looking weights (f32, Gaussian, mean 0, std 0.05, seeded).
 *
 *   bench_codec DIR [MiB] [REPEATS]
 *
 * Writes the raw little-endian weights to DIR/weights.raw (so that
 * bench_codec.sh can time the zstd CLI on the very same bytes), then times
 * rf_artifact_write and rf_artifact_read on a tensor over those bytes,
 * keeping the best of REPEATS runs. Prints on stdout, in MB (10^6 bytes of
 * raw weights) per second:
 *   encode_cpu X / decode_cpu Y    per second of CPU time (user + system)
 *   encode_wall X / decode_wall Y  per second of wall-clock time */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "store/rf_codec.h"

typedef struct stamp {
    double wall, cpu;
} stamp;

static stamp now(void)
{
    struct timespec ts;
    struct rusage ru;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    getrusage(RUSAGE_SELF, &ru);
    return (stamp){(double)ts.tv_sec + (double)ts.tv_nsec * 1e-9,
                   (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6};
}

/* Keep the fastest run in each measure. */
static void best(stamp *b, stamp t0, stamp t1)
{
    if (t1.wall - t0.wall < b->wall)
        b->wall = t1.wall - t0.wall;
    if (t1.cpu - t0.cpu < b->cpu)
        b->cpu = t1.cpu - t0.cpu;
}

/* splitmix64: small, seedable, good enough for test data. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void gaussian(float *w, size_t n, double std, uint64_t seed)
{
    for (size_t i = 0; i < n; i += 2) {   /* Box-Muller, two at a time */
        double u1 = ((double)(next(&seed) >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (double)(next(&seed) >> 11) / 9007199254740992.0;
        double r = std * sqrt(-2.0 * log(u1));
        w[i] = (float)(r * cos(2 * M_PI * u2));
        if (i + 1 < n)
            w[i + 1] = (float)(r * sin(2 * M_PI * u2));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_codec DIR [MiB] [REPEATS]\n");
        return 2;
    }
    size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    size_t n = mib << 18;   /* floats */
    size_t bytes = n * sizeof(float);
    char raw[4096], art[4096];
    snprintf(raw, sizeof raw, "%s/weights.raw", argv[1]);
    snprintf(art, sizeof art, "%s/weights.rfa", argv[1]);

    float *w = malloc(bytes);
    if (!w)
        return 1;
    gaussian(w, n, 0.05, 42);
    FILE *f = fopen(raw, "wb");
    if (!f || fwrite(w, 1, bytes, f) != bytes || fclose(f)) {
        perror(raw);
        return 1;
    }

    uint64_t shape[2] = {n / 1024, 1024};
    rf_obj *root = rf_obj_map();
    rf_obj_set(root, "weights", rf_obj_tensor_wrap(RF_F32, 2, shape, w));
    rf_obj_set(root, "step", rf_obj_int(1000));
    rf_err err = {0};
    rf_artifact_info info;
    stamp enc = {1e9, 1e9}, dec = {1e9, 1e9};
    for (int r = 0; r < reps; r++) {
        stamp t0 = now();
        if (rf_artifact_write(art, "ruvflow/bench", root, NULL, &info, &err) < 0) {
            fprintf(stderr, "bench_codec: %s\n", err.msg);
            return 1;
        }
        stamp t1 = now();
        rf_obj *back = NULL;
        if (rf_artifact_read(art, NULL, NULL, &back, &err) < 0) {
            fprintf(stderr, "bench_codec: %s\n", err.msg);
            return 1;
        }
        stamp t2 = now();
        rf_tensor *bt = rf_obj_get_tensor(back, "weights", RF_F32);
        if (!bt || memcmp(bt->data, w, bytes)) {
            fprintf(stderr, "bench_codec: round trip mismatch\n");
            return 1;
        }
        rf_obj_free(back);
        best(&enc, t0, t1);
        best(&dec, t1, t2);
    }
    fprintf(stderr, "bench_codec: %zu MiB -> %llu bytes (ratio %.3f), best of %d\n", mib,
            (unsigned long long)info.compressed_size,
            (double)bytes / (double)info.compressed_size, reps);
    double mb = (double)bytes / 1e6;
    printf("encode_cpu %.1f\ndecode_cpu %.1f\nencode_wall %.1f\ndecode_wall %.1f\n",
           mb / enc.cpu, mb / dec.cpu, mb / enc.wall, mb / dec.wall);
    rf_obj_free(root);
    free(w);
    unlink(art);
    return 0;
}
