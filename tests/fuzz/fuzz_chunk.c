/* fuzz_chunk: rf_chunk header parsing and decoding on arbitrary bytes, with
 * and without a base block. Must never crash or read out of bounds: every
 * chunk a checkpoint repository reads goes through these functions. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/rf_chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rf_chunk_ctx *c;
    if (!c)
        c = rf_chunk_ctx_new(1);
    rf_chunk_head h;
    rf_err e;
    if (rf_chunk_head_parse(data, size, &h, &e) || h.raw_len > (1u << 24))
        return 0;
    size_t n = (size_t)h.raw_len;
    uint8_t *raw = malloc(n ? n : 1), *base = NULL;
    uint8_t id[RF_SHA256_LEN] = {0};
    if (h.mode == RF_CHUNK_DELTA) {
        base = malloc(n ? n : 1);
        memset(base, 0x5a, n);
    }
    rf_chunk_decode(c, data, size, base, id, raw, &e);
    free(raw);
    free(base);
    return 0;
}
