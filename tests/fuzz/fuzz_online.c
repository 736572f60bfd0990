/* fuzz_online: libFuzzer target for what online learning reads back from
 * outside: the file positions the watcher keeps in Redis
 * (rf_tail_pos_parse), a growing log read from such a position (rf_tail_read),
 * and replay-buffer artifacts (rf_replay_load, after the codec: the field
 * and shape checks). The first byte picks the parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml/rf_replay.h"
#include "ml/rf_tail.h"

static int count_line(void *ud, const char *line, size_t len, uint64_t lineno, rf_err *err)
{
    (void)line, (void)err, (void)lineno;
    *(size_t *)ud += len + 1;
    return 0;
}

static char path[64];

static int write_tmp(const uint8_t *p, size_t n)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_online.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(p, 1, n, f);
    fclose(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 3;
    data++, size--;
    rf_err err = {0};
    if (which == 0) {
        char *s = malloc(size + 1);
        memcpy(s, data, size);
        s[size] = 0;
        rf_tail_pos p;
        if (rf_tail_pos_parse(s, &p, &err) == 0) {
            char back[RF_TAIL_POS_MAX];
            rf_tail_pos_format(&p, back);
            rf_tail_pos q;
            if (rf_tail_pos_parse(back, &q, &err) != 0 || memcmp(&p, &q, sizeof p) != 0)
                abort();
        } else if (!err.msg[0]) {
            abort();
        }
        free(s);
    } else if (which == 1) {
        /* the first 8 bytes are a position, the rest the file */
        rf_tail_pos p = {0};
        if (size >= 8) {
            memcpy(&p.offset, data, 8);
            p.offset %= size + 16;
            data += 8, size -= 8;
        }
        if (write_tmp(data, size) != 0)
            return 0;
        size_t got = 0;
        int restarted;
        uint64_t pending;
        if (rf_tail_read(path, &p, 1 << 16, count_line, &got, &restarted, &pending, &err) == 0 &&
            p.offset + pending > size)
            abort();
    } else {
        if (write_tmp(data, size) != 0)
            return 0;
        rf_replay r;
        if (rf_replay_load(path, &r, &err) == 0) {
            if (r.n > r.cap || r.next >= r.cap)
                abort();
            rf_replay_free(&r);
        } else if (!err.msg[0]) {
            abort();
        }
    }
    return 0;
}
