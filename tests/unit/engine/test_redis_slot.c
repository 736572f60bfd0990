/* test_redis_slot: Redis Cluster hash slots (the specification's values and
 * hash-tag rules), which argument routes a command, MOVED/ASK parsing, the
 * slot map loaded from CLUSTER SLOTS replies built by hiredis's own reader,
 * and redis+cluster:// URLs. No server: see
 * tests/integration/redis_cluster.sh for that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "engine/rf_redis.h"
#include "engine/rf_redis_map.h"
#include "engine/rf_redis_slot.h"

static int slot(const char *k) { return rf_redis_key_slot(k, strlen(k)); }

static void test_crc16_spec(void **st)
{
    (void)st;
    /* The specification's check value for CRC16-XMODEM. */
    assert_int_equal(rf_redis_crc16("123456789", 9), 0x31C3);
    assert_int_equal(slot("123456789"), 0x31C3 & 16383);
    assert_int_equal(rf_redis_crc16("", 0), 0);
    /* Values redis-cli CLUSTER KEYSLOT gives (also checked against a live
     * cluster by redis_cluster.sh). */
    assert_int_equal(slot("foo"), 12182);
    assert_int_equal(slot("bar"), 5061);
}

static void test_hash_tags(void **st)
{
    (void)st;
    /* The specification's examples. */
    assert_int_equal(slot("{user1000}.following"), slot("user1000"));
    assert_int_equal(slot("{user1000}.followers"), slot("user1000"));
    assert_int_equal(slot("foo{}{bar}"), rf_redis_crc16("foo{}{bar}", 10) & 16383);
    assert_int_equal(slot("foo{{bar}}zap"), slot("{bar"));
    assert_int_equal(slot("foo{bar}{zap}"), slot("bar"));
    /* No closing brace, or only one: the whole key. */
    assert_int_equal(slot("foo{bar"), rf_redis_crc16("foo{bar", 7) & 16383);
    assert_int_equal(slot("foo}bar{"), rf_redis_crc16("foo}bar{", 8) & 16383);
    /* The tag counts, not the rest: a run's keys share one slot. */
    assert_int_equal(slot("rf:{run42}:steps"), slot("rf:{run42}:plan"));
    assert_int_not_equal(slot("rf:{run42}:steps"), slot("rf:{run43}:steps"));
    /* Binary-safe: a NUL inside the tag is part of it. */
    assert_int_equal(rf_redis_key_slot("{a\0b}", 5), rf_redis_crc16("a\0b", 3) & 16383);
}

static void test_cmd_key(void **st)
{
    (void)st;
    const char *get[] = {"GET", "k"};
    assert_int_equal(rf_redis_cmd_key(2, get, NULL), 1);
    const char *time[] = {"TIME"};
    assert_int_equal(rf_redis_cmd_key(1, time, NULL), -1);
    const char *load[] = {"script", "load", "return 1"};
    assert_int_equal(rf_redis_cmd_key(3, load, NULL), -1);
    const char *ev0[] = {"EVALSHA", "abc", "0", "prefix"};
    assert_int_equal(rf_redis_cmd_key(4, ev0, NULL), -1);
    const char *ev1[] = {"EVALSHA", "abc", "1", "rf:{p}:q", "prefix"};
    assert_int_equal(rf_redis_cmd_key(5, ev1, NULL), 3);
    const char *xr[] = {"XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "STREAMS", "rf:events", ">"};
    assert_int_equal(rf_redis_cmd_key(9, xr, NULL), 7);
    const char *xg[] = {"XGROUP", "CREATE", "rf:events", "g", "$"};
    assert_int_equal(rf_redis_cmd_key(5, xg, NULL), 2);
    const char *blpop[] = {"BLPOP", "w1", "w2", "1"};
    assert_int_equal(rf_redis_cmd_key(4, blpop, NULL), 1);
    size_t lens[] = {3, 1};
    const char *lenv[] = {"GETx", "kz"};   /* lens win over strlen */
    assert_int_equal(rf_redis_cmd_key(2, lenv, lens), 1);
    assert_int_equal(rf_redis_cmd_key(0, NULL, NULL), -1);
}

static void test_redirect_parse(void **st)
{
    (void)st;
    rf_redis_redirect rd;
    assert_int_equal(rf_redis_redirect_parse("MOVED 3999 127.0.0.1:6381", &rd), 1);
    assert_int_equal(rd.ask, 0);
    assert_int_equal(rd.slot, 3999);
    assert_string_equal(rd.host, "127.0.0.1");
    assert_int_equal(rd.port, 6381);
    assert_int_equal(rf_redis_redirect_parse("ASK 16383 ::1:7000", &rd), 1);
    assert_int_equal(rd.ask, 1);
    assert_int_equal(rd.slot, 16383);
    assert_string_equal(rd.host, "::1");
    assert_int_equal(rd.port, 7000);
    /* Redis 7 leaves the host out when it does not know its endpoint. */
    assert_int_equal(rf_redis_redirect_parse("MOVED 0 :7002", &rd), 1);
    assert_string_equal(rd.host, "");
    const char *bad[] = {"MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 12 h", "MOVED 12 h:0",
                         "MOVED 12 h:70000", "MOVED 12 h:12x", "ERR MOVED 1 h:1",
                         "NOSCRIPT No matching script", "ASK 1  h:1", NULL};
    for (int i = 0; bad[i]; i++) {
        rd.slot = -7;
        assert_int_equal(rf_redis_redirect_parse(bad[i], &rd), 0);
        assert_int_equal(rd.slot, -7);   /* untouched */
    }
}

/* A reply as a server would send it, through hiredis's reader. */
static redisReply *reply_of(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *rep = NULL;
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(rd, &rep), REDIS_OK);
    assert_non_null(rep);
    redisReaderFree(rd);
    return rep;
}

/* Two primaries; the second does not know its address ("") and has a
 * replica, which the map ignores. */
static const char *const slots_two =
    "*2\r\n"
    "*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
    "*4\r\n:8192\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$2\r\nid\r\n"
    "*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$2\r\nid\r\n";

static void test_map_load(void **st)
{
    (void)st;
    rf_redis_map *m = rf_redis_map_new();
    rf_err err = {0};
    assert_int_equal(m->slot[0], -1);
    assert_int_equal(rf_redis_map_node(m, "10.0.0.9", 8, 7000, &err), 0);   /* a seed */
    redisReply *rep = reply_of(slots_two);
    assert_int_equal(rf_redis_map_load(m, rep, "10.0.0.5", &err), 0);
    freeReplyObject(rep);
    assert_int_equal(m->nslots_known, 16384);
    assert_int_equal(m->nnodes, 3);   /* seed + two primaries, no replica */
    int a = m->slot[0], b = m->slot[16383];
    assert_string_equal(m->nodes[a].host, "127.0.0.1");
    assert_int_equal(m->nodes[a].port, 7000);
    assert_string_equal(m->nodes[b].host, "10.0.0.5");
    assert_int_equal(m->nodes[b].port, 7001);
    assert_int_equal(m->slot[8191], a);
    assert_int_equal(m->slot[8192], b);

    /* A reload keeps node indexes: the same primaries, other ranges. */
    rep = reply_of("*2\r\n"
                   "*3\r\n:0\r\n:99\r\n*2\r\n$0\r\n\r\n:7001\r\n"
                   "*3\r\n:100\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n");
    assert_int_equal(rf_redis_map_load(m, rep, "10.0.0.5", &err), 0);
    freeReplyObject(rep);
    assert_int_equal(m->nnodes, 3);
    assert_int_equal(m->slot[0], b);
    assert_int_equal(m->slot[100], a);

    /* Partial coverage (a failed primary): its slots unknown. */
    rep = reply_of("*1\r\n*3\r\n:0\r\n:9\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n");
    assert_int_equal(rf_redis_map_load(m, rep, "x", &err), 0);
    freeReplyObject(rep);
    assert_int_equal(m->nslots_known, 10);
    assert_int_equal(m->slot[10], -1);

    /* MOVED patches one slot, new node interned. */
    rf_redis_redirect rd;
    assert_int_equal(rf_redis_redirect_parse("MOVED 10 127.0.0.1:7002", &rd), 1);
    int c = rf_redis_map_moved(m, &rd, &err);
    assert_int_equal(c, 3);
    assert_int_equal(m->slot[10], c);
    assert_int_equal(m->nslots_known, 11);
    assert_int_equal(rf_redis_map_moved(m, &rd, &err), c);   /* again: no change */
    assert_int_equal(m->nslots_known, 11);
    rf_redis_map_free(m);
}

static void test_map_bad(void **st)
{
    (void)st;
    rf_redis_map *m = rf_redis_map_new();
    rf_err err = {0};
    const char *bad[] = {
        ":1\r\n",                                              /* not an array */
        "*1\r\n:5\r\n",                                         /* entry not an array */
        "*1\r\n*3\r\n:9\r\n:2\r\n*2\r\n$1\r\nh\r\n:1\r\n",      /* end < start */
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",  /* past the last slot */
        "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n",      /* port 0 */
        "*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n",            /* node without port */
        "*1\r\n*2\r\n:0\r\n:1\r\n",                             /* range without node */
        NULL};
    /* A good map first: a bad reply must leave it as it was. */
    redisReply *good = reply_of(slots_two);
    assert_int_equal(rf_redis_map_load(m, good, "h", &err), 0);
    freeReplyObject(good);
    for (int i = 0; bad[i]; i++) {
        redisReply *rep = reply_of(bad[i]);
        assert_int_equal(rf_redis_map_load(m, rep, "h", &err), -1);
        assert_int_equal(err.code, RF_ECORRUPT);
        assert_non_null(strstr(err.msg, "CLUSTER SLOTS"));
        freeReplyObject(rep);
        assert_int_equal(m->nslots_known, 16384);
        assert_int_equal(m->nodes[m->slot[0]].port, 7000);
    }
    assert_int_equal(rf_redis_map_load(m, NULL, "h", &err), -1);
    /* The node table is bounded. */
    char host[16];
    int last = 0;
    for (int i = 0; i < RF_REDIS_MAX_NODES + 1 && last >= 0; i++) {
        snprintf(host, sizeof host, "n%d", i);
        last = rf_redis_map_node(m, host, strlen(host), 1, &err);
    }
    assert_int_equal(last, -1);
    assert_non_null(strstr(err.msg, "more than 64 nodes"));
    assert_int_equal(rf_redis_map_node(m, "", 0, 1, &err), -1);
    rf_redis_map_free(m);
}

static void test_cluster_url(void **st)
{
    (void)st;
    rf_redis_url_parts p;
    rf_err err = {0};
    assert_int_equal(rf_redis_url_parse("redis+cluster://u:pw@10.0.0.5:7000,h2,h3:7002/0", &p,
                                        &err), 0);
    assert_int_equal(p.cluster, 1);
    assert_int_equal(p.nseeds, 3);
    assert_string_equal(p.seeds[0].host, "10.0.0.5");
    assert_int_equal(p.seeds[0].port, 7000);
    assert_string_equal(p.seeds[1].host, "h2");
    assert_int_equal(p.seeds[1].port, 6379);
    assert_string_equal(p.host, "10.0.0.5");   /* the first seed */
    assert_string_equal(p.user, "u");
    assert_string_equal(p.pass, "pw");
    rf_redis_url_parts_free(&p);
    assert_int_equal(rf_redis_url_parse("redis://h:1/2", &p, &err), 0);
    assert_int_equal(p.cluster, 0);
    assert_int_equal(p.nseeds, 0);
    rf_redis_url_parts_free(&p);
    const char *bad[] = {"redis+cluster://", "redis+cluster://h:1,", "redis+cluster://h:1,:2",
                         "redis+cluster://h:1,h:x", "redis+cluster://h:1/3",
                         "redis-cluster://h:1", NULL};
    const char *why[] = {"no host", "seed 2", "seed 2", "bad port", "database 0 only",
                         "must look like"};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(rf_redis_url_parse(bad[i], &p, &err), -1);
        assert_int_equal(err.code, RF_EINVAL);
        assert_non_null(strstr(err.msg, why[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_spec),  cmocka_unit_test(test_hash_tags),
        cmocka_unit_test(test_cmd_key),     cmocka_unit_test(test_redirect_parse),
        cmocka_unit_test(test_map_load),    cmocka_unit_test(test_map_bad),
        cmocka_unit_test(test_cluster_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
