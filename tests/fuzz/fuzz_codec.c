/* fuzz_codec: libFuzzer target for the artifact decoder.
 *
 * An input that starts with the artifact magic is decoded as a whole
 * artifact (header, zstd frame, checksum). Any other input is taken as a
 * msgpack payload and wrapped in a valid artifact first (compressed, with
 * its checksum), so that mutations reach the msgpack parser instead of
 * dying in zstd or at the checksum. Limits are small so that a test case
 * cannot legitimately use much memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "store/rf_codec.h"

static void decode(const uint8_t *data, size_t size)
{
    rf_codec_limits lim = {.max_payload = 1 << 20, .max_depth = 32, .max_items = 10000};
    rf_artifact_info info;
    rf_obj *out = NULL;
    rf_err err = {0};
    int r = rf_artifact_read_mem(data, size, &lim, &info, &out, &err);
    if (r == 0 && !out)
        abort();
    if (r < 0 && (out || !err.msg[0]))
        abort();
    rf_obj_free(out);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void decode_payload(const uint8_t *data, size_t size)
{
    size_t cap = RF_ART_HEADER_SIZE + ZSTD_compressBound(size);
    uint8_t *a = calloc(1, cap);
    if (!a)
        return;
    size_t c = ZSTD_compress(a + RF_ART_HEADER_SIZE, cap - RF_ART_HEADER_SIZE, data, size, 1);
    if (!ZSTD_isError(c)) {
        memcpy(a, RF_ART_MAGIC, sizeof RF_ART_MAGIC);
        a[8] = RF_ART_VERSION;
        a[10] = 1;
        put_le64(a + 16, size);
        rf_sha256(data, size, a + 24);
        memcpy(a + 56, "fuzz", 4);
        put_le64(a + 120, c);
        decode(a, RF_ART_HEADER_SIZE + c);
    }
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rf_artifact_sniff(data, size))
        decode(data, size);
    else
        decode_payload(data, size);
    return 0;
}
