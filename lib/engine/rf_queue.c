/* rf_queue: reliable task queues on Redis; see rf_queue.h for the model
 * and docs/redis-schema.md for the keys.
 *
 * Every state change is one Lua script below. The scripts build key names
 * from the prefix (ARGV[1]) and task ids, so they need a single Redis
 * primary, not a Cluster. Numbers travel as strings both ways: Lua turns
 * returned numbers into truncated integers and formats large floats with
 * 14 digits, so scores are always formatted with %d. */
#include "engine/rf_queue.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

#define LEASE_MIN_MS 100
#define REAP_BATCH "64"  /* expired leases handled per queue per take */

struct rf_queue {
    rf_redis *r;
    char *prefix;
    char *events_key;
    long lease_ms;
    long retention_s;
    unsigned rand_state;  /* jitter for retry backoff */
};

/* ---- Lua ------------------------------------------------------------ */

/* Shared helpers, prepended to every script. */
#define LUA_PRELUDE                                                          \
    "local P = ARGV[1]\n"                                                    \
    "local function now()\n"                                                 \
    "  local t = redis.call('TIME')\n"                                       \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"   \
    "end\n"                                                                  \
    "local function now_us()\n"                                              \
    "  local t = redis.call('TIME')\n"                                       \
    "  return tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                   \
    "end\n"                                                                  \
    "local function qk(pool, typ, what) return P..'q:'..pool..':'..typ..':'..what end\n" \
    "local function tk(id) return P..'t:'..id end\n"                         \
    "local function num(x) return string.format('%d', x) end\n"              \
    "local function score(prio, seq)\n"                                      \
    "  return num((1000 - (tonumber(prio) or 0)) * 1099511627776 + (tonumber(seq) or 0))\n" \
    "end\n"                                                                  \
    "local function wake(pool, typ, n)\n"                                    \
    "  local k = qk(pool, typ, 'wake')\n"                                    \
    "  local add = math.min(n, 64 - redis.call('LLEN', k))\n"                \
    "  if add > 0 then\n"                                                    \
    "    local t = {}\n"                                                     \
    "    for i = 1, add do t[i] = '1' end\n"                                 \
    "    redis.call('RPUSH', k, unpack(t))\n"                                \
    "  end\n"                                                                \
    "end\n"                                                                  \
    "local function event(ev, id, run, step, idx, att)\n"                    \
    "  redis.call('XADD', P..'events', 'MAXLEN', '~', '1000000', '*', 'ev', ev,\n" \
    "    'task', id, 'run', run or '', 'step', step or '', 'idx', idx or '0',\n" \
    "    'att', att or '0')\n"                                               \
    "end\n"                                                                  \
    "local function to_dead(id, pool, typ, reason, t)\n"                     \
    "  local k = tk(id)\n"                                                   \
    "  redis.call('HSET', k, 'st', 'dead', 'err', reason, 'fin', num(now_us()))\n"  \
    "  redis.call('ZADD', qk(pool, typ, 'dead'), num(t), id)\n"              \
    "  local r = redis.call('HMGET', k, 'run', 'step', 'idx', 'att')\n"      \
    "  event('dead', id, r[1], r[2], r[3], r[4])\n"                          \
    "end\n"                                                                  \
    /* A leased task failed: cancelled, retried after its backoff (u in    \
     * [0,1) draws the jitter), or dead. Returns 2, 0 or 1 (rf_queue_fail). */ \
    "local function fail_leased(id, why, retryable, u, t)\n"                 \
    "  local k = tk(id)\n"                                                   \
    "  local r = redis.call('HMGET', k, 'pool', 'type', 'att', 'maxa', 'bo', 'bomax',\n" \
    "    'run', 'step', 'idx', 'cxl', 'jit')\n"                              \
    "  redis.call('ZREM', qk(r[1], r[2], 'leased'), id)\n"                   \
    "  if r[10] == '1' then\n"                                               \
    "    redis.call('HSET', k, 'st', 'cancelled', 'err', why, 'fin', num(now_us()))\n" \
    "    event('cancelled', id, r[7], r[8], r[9], r[3])\n"                   \
    "    return 2\n"                                                         \
    "  end\n"                                                                \
    "  local att, maxa = tonumber(r[3]) or 0, tonumber(r[4]) or 0\n"         \
    "  if retryable and att < maxa then\n"                                   \
    "    local bo, cap = tonumber(r[5]) or 1000, tonumber(r[6]) or 60000\n"  \
    "    local d = math.min(cap, bo * 2 ^ (att - 1)) * (1 - (tonumber(r[11]) or 0) * u)\n" \
    "    redis.call('HSET', k, 'st', 'delayed', 'err', why)\n"               \
    "    redis.call('ZADD', qk(r[1], r[2], 'delayed'), num(t + d), id)\n"    \
    "    event('retry', id, r[7], r[8], r[9], r[3])\n"                       \
    "    return 0\n"                                                         \
    "  end\n"                                                                \
    "  if retryable then why = why..' (attempt '..att..' of '..maxa..')' end\n" \
    "  to_dead(id, r[1], r[2], why, t)\n"                                    \
    "  return 1\n"                                                           \
    "end\n"                                                                  \
    "local function make_ready(id, pool, typ, t, r_prio, r_seq)\n"           \
    "  redis.call('HSET', tk(id), 'st', 'ready', 'enq', num(now_us()))\n"           \
    "  redis.call('ZADD', qk(pool, typ, 'ready'), score(r_prio, r_seq), id)\n" \
    "end\n"                                                                  \
    /* Expired leases back to ready (or dead), due retries to ready. */     \
    "local function reap(pool, typ, t, max)\n"                               \
    "  local moved, woke = 0, 0\n"                                           \
    "  local lk = qk(pool, typ, 'leased')\n"                                 \
    "  for _, id in ipairs(redis.call('ZRANGEBYSCORE', lk, '-inf', num(t), 'LIMIT', 0, max)) do\n" \
    "    redis.call('ZREM', lk, id)\n"                                       \
    "    local r = redis.call('HMGET', tk(id), 'st', 'att', 'maxa', 'prio', 'seq', 'wk', 'cxl',\n" \
    "      'run', 'step', 'idx')\n"                                          \
    "    if r[1] == 'leased' then\n"                                         \
    "      local att, maxa = tonumber(r[2]) or 0, tonumber(r[3]) or 0\n"     \
    "      if r[7] == '1' then\n"                                            \
    "        redis.call('HSET', tk(id), 'st', 'cancelled', 'fin', num(now_us()))\n" \
    "        event('cancelled', id, r[8], r[9], r[10], r[2])\n"              \
    "      elseif att >= maxa then\n"                                        \
    "        to_dead(id, pool, typ, 'lease expired on attempt '..att..' of '..maxa..\n" \
    "          ' (worker '..(r[6] or '?')..' stopped heartbeating)', t)\n"   \
    "      else\n"                                                           \
    "        redis.call('HSET', tk(id), 'err', 'lease expired (worker '..(r[6] or '?')..')')\n" \
    "        make_ready(id, pool, typ, t, r[4], r[5])\n"                     \
    "        event('retry', id, r[8], r[9], r[10], r[2])\n"                  \
    "        woke = woke + 1\n"                                              \
    "      end\n"                                                            \
    "      moved = moved + 1\n"                                              \
    "    end\n"                                                              \
    "  end\n"                                                                \
    "  local dk = qk(pool, typ, 'delayed')\n"                                \
    "  for _, id in ipairs(redis.call('ZRANGEBYSCORE', dk, '-inf', num(t), 'LIMIT', 0, max)) do\n" \
    "    redis.call('ZREM', dk, id)\n"                                       \
    "    local r = redis.call('HMGET', tk(id), 'st', 'prio', 'seq')\n"       \
    "    if r[1] == 'delayed' then\n"                                        \
    "      make_ready(id, pool, typ, t, r[2], r[3])\n"                       \
    "      moved, woke = moved + 1, woke + 1\n"                              \
    "    end\n"                                                              \
    "  end\n"                                                                \
    "  if woke > 0 then wake(pool, typ, woke) end\n"                         \
    "  return moved\n"                                                       \
    "end\n"

/* ARGV: prefix, n, then 15 fields per task (see rf_queue_enqueue). */
static const rf_script s_enqueue = {"enqueue", LUA_PRELUDE
    "local n, t, added, woke = tonumber(ARGV[2]), now(), 0, {}\n"
    /* One INCRBY reserves the batch's FIFO numbers; gaps are harmless. */
    "local seq0 = redis.call('INCRBY', P..'seq', n) - n\n"
    "local us = num(now_us())\n"
    "for i = 0, n - 1 do\n"
    "  local a = 3 + i * 15\n"
    "  local id, pool, typ, prio = ARGV[a], ARGV[a + 5], ARGV[a + 4], ARGV[a + 6]\n"
    "  local k = tk(id)\n"
    "  if redis.call('EXISTS', k) == 0 then\n"
    "    local seq = seq0 + i + 1\n"
    "    redis.call('HSET', k, 'run', ARGV[a + 1], 'step', ARGV[a + 2], 'idx', ARGV[a + 3],\n"
    "      'type', typ, 'pool', pool, 'prio', prio, 'params', ARGV[a + 7],\n"
    "      'inputs', ARGV[a + 8], 'tier', ARGV[a + 9], 'tmo', ARGV[a + 10],\n"
    "      'maxa', ARGV[a + 11], 'bo', ARGV[a + 12], 'bomax', ARGV[a + 13], 'jit', ARGV[a + 14],\n"
    "      'st', 'ready', 'att', '0', 'tok', '0', 'seq', seq, 'enq', us)\n"
    "    redis.call('ZADD', qk(pool, typ, 'ready'), score(prio, seq), id)\n"
    "    local q = pool..'/'..typ\n"
    "    if not woke[q] then\n"
    "      woke[q] = 0\n"
    "      redis.call('SADD', P..'queues', q)\n"
    "    end\n"
    "    woke[q] = woke[q] + 1\n"
    "    added = added + 1\n"
    "  end\n"
    "end\n"
    "for q, c in pairs(woke) do\n"
    "  local s = string.find(q, '/', 1, true)\n"
    "  wake(string.sub(q, 1, s - 1), string.sub(q, s + 1), c)\n"
    "end\n"
    "return added\n"};

/* Why a record cannot be run, or nil. r = HMGET of take's fields. */
#define LUA_CHECK                                                            \
    /* Shape only: the runtime parses the JSON fully and dead-letters     \
     * what does not parse; decoding here would cost every take. */       \
    "local function json_obj(s)\n"                                           \
    "  return type(s) == 'string' and string.sub(s, 1, 1) == '{' and string.sub(s, -1) == '}'\n" \
    "end\n"                                                                  \
    "local function check(r, pool, typ)\n"                                   \
    "  if not r[1] and not r[2] then return 'record missing' end\n"          \
    "  if r[1] ~= typ or r[2] ~= pool then\n"                                \
    "    return 'record says queue '..tostring(r[2])..'/'..tostring(r[1])..\n" \
    "      ' but sits in '..pool..'/'..typ\n"                               \
    "  end\n"                                                                \
    "  local names = {'prio', 'att', 'maxa', 'tok', 'tmo', 'idx'}\n"         \
    "  local at = {3, 4, 5, 6, 9, 13}\n"                                     \
    "  for i, f in ipairs(at) do\n"                                          \
    "    if not tonumber(r[f]) then\n"                                       \
    "      return 'field '..names[i]..' is not a number: '..tostring(r[f])\n" \
    "    end\n"                                                              \
    "  end\n"                                                                \
    "  if not json_obj(r[7]) then return 'params is not a JSON object' end\n" \
    "  if not json_obj(r[8]) then return 'inputs is not a JSON object' end\n" \
    "  return nil\n"                                                         \
    "end\n"

/* ARGV: prefix, worker, max, lease_ms, pool, type... */
static const rf_script s_take = {"take", LUA_PRELUDE LUA_CHECK
    "local worker, max, lease, pool = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]\n"
    "local t, us = now(), num(now_us())\n"
    "local types = {}\n"
    "for i = 6, #ARGV do\n"
    "  types[#types + 1] = ARGV[i]\n"
    "  reap(pool, ARGV[i], t, " REAP_BATCH ")\n"
    "end\n"
    /* Pop candidates in global score order across the type queues. */
    /* One type (the common case): pop the whole batch at once. */
    "local popped, pi = nil, 1\n"
    "local function pop()\n"
    "  if #types == 1 then\n"
    "    if not popped then popped = redis.call('ZPOPMIN', qk(pool, types[1], 'ready'), max) end\n"
    "    local id = popped[pi]\n"
    "    pi = pi + 2\n"
    "    if id then return id, types[1] end\n"
    "    return nil\n"
    "  end\n"
    "  local best, bs, bt = nil, nil, nil\n"
    "  for _, typ in ipairs(types) do\n"
    "    local h = redis.call('ZRANGE', qk(pool, typ, 'ready'), 0, 0, 'WITHSCORES')\n"
    "    if h[1] and (not bs or tonumber(h[2]) < bs) then best, bs, bt = h[1], tonumber(h[2]), typ end\n"
    "  end\n"
    "  if best then redis.call('ZREM', qk(pool, bt, 'ready'), best) end\n"
    "  return best, bt\n"
    "end\n"
    "local out, guard = {}, 0\n"
    "while #out < max and guard < max * 4 do\n"
    "  guard = guard + 1\n"
    "  local id, typ = pop()\n"
    "  if not id then break end\n"
    "  local k = tk(id)\n"
    "  local r = redis.call('HMGET', k, 'type', 'pool', 'prio', 'att', 'maxa', 'tok',\n"
    "    'params', 'inputs', 'tmo', 'run', 'step', 'tier', 'idx', 'enq', 'st')\n"
    "  local bad = check(r, pool, typ)\n"
    "  if bad then\n"
    "    to_dead(id, pool, typ, 'malformed record: '..bad, t)\n"
    "  elseif r[15] == 'ready' then\n"
    "    local tok, att = tonumber(r[6]) + 1, tonumber(r[4]) + 1\n"
    "    redis.call('HSET', k, 'st', 'leased', 'tok', num(tok), 'att', num(att), 'wk', worker,\n"
    "      'start', us, 'run0', '0')\n"
    "    redis.call('ZADD', qk(pool, typ, 'leased'), num(t + lease), id)\n"
    "    out[#out + 1] = {id, num(tok), num(att), r[10] or '', r[11] or '', r[13], typ, pool,\n"
    "      r[3], r[7], r[8], r[12] or 'hot', r[9], r[5], r[14] or us, us}\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: prefix, lease_ms, u in [0,1) (retry jitter), then id, token,
 * running triples. The first heartbeat that says running starts the
 * server's clock for the task's timeout ('run0'); past tmo + 2 leases
 * (the runtime's own timer fires at tmo) the task is failed here, so a
 * worker that keeps heartbeating a stuck handler cannot hold it forever. */
static const rf_script s_heartbeat = {"heartbeat", LUA_PRELUDE
    "local lease, u, t, out = tonumber(ARGV[2]), tonumber(ARGV[3]), now(), {}\n"
    "for i = 4, #ARGV, 3 do\n"
    "  local id = ARGV[i]\n"
    "  local r = redis.call('HMGET', tk(id), 'st', 'tok', 'pool', 'type', 'cxl', 'tmo', 'run0')\n"
    "  local tmo, run0 = tonumber(r[6]) or 0, tonumber(r[7]) or 0\n"
    "  if r[1] ~= 'leased' or r[2] ~= ARGV[i + 1] then\n"
    "    out[#out + 1] = 1\n"
    "  elseif tmo > 0 and run0 > 0 and t - run0 > tmo + 2 * lease then\n"
    "    fail_leased(id, 'timeout: still running after '..num(t - run0)..' ms, over its '..\n"
    "      num(tmo)..' ms; the worker did not stop it (enforced by the queue)', true, u, t)\n"
    "    out[#out + 1] = 1\n"
    "  else\n"
    "    if ARGV[i + 2] == '1' and run0 == 0 then redis.call('HSET', tk(id), 'run0', num(t)) end\n"
    "    redis.call('ZADD', qk(r[3], r[4], 'leased'), num(t + lease), id)\n"
    "    out[#out + 1] = (r[5] == '1') and 2 or 0\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: prefix, retention_s, then id, token, outputs, metrics. */
static const rf_script s_commit = {"commit", LUA_PRELUDE
    "local ret, t, out = tonumber(ARGV[2]), now(), {}\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local id = ARGV[i]\n"
    "  local k = tk(id)\n"
    "  local r = redis.call('HMGET', k, 'st', 'tok', 'pool', 'type', 'run', 'step', 'idx', 'att')\n"
    "  if r[2] == ARGV[i + 1] and r[1] == 'done' then\n"
    "    out[#out + 1] = 0\n"
    "  elseif r[1] ~= 'leased' or r[2] ~= ARGV[i + 1] then\n"
    "    out[#out + 1] = 1\n"
    "  else\n"
    "    redis.call('HSET', k, 'st', 'done', 'out', ARGV[i + 2], 'met', ARGV[i + 3], 'fin', num(now_us()))\n"
    "    redis.call('ZREM', qk(r[3], r[4], 'leased'), id)\n"
    "    event('done', id, r[5], r[6], r[7], r[8])\n"
    "    if ret > 0 then redis.call('EXPIRE', k, ret) end\n"
    "    out[#out + 1] = 0\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: prefix, id, token, retryable, reason, u uniform in [0,1) (see
 * rf_queue_fail for the delay formula; a record without 'jit' has none).
 * Returns -1 stale, 0 retry, 1 dead, 2 cancelled. */
static const rf_script s_fail = {"fail", LUA_PRELUDE
    "local id = ARGV[2]\n"
    "local r = redis.call('HMGET', tk(id), 'st', 'tok')\n"
    "if r[1] ~= 'leased' or r[2] ~= ARGV[3] then return -1 end\n"
    "return fail_leased(id, ARGV[5], ARGV[4] == '1', tonumber(ARGV[6]), now())\n"};

/* ARGV: prefix, then id, token pairs. */
static const rf_script s_release = {"release", LUA_PRELUDE
    "local t, out = now(), {}\n"
    "for i = 2, #ARGV, 2 do\n"
    "  local id = ARGV[i]\n"
    "  local k = tk(id)\n"
    "  local r = redis.call('HMGET', k, 'st', 'tok', 'pool', 'type', 'prio', 'seq')\n"
    "  if r[1] ~= 'leased' or r[2] ~= ARGV[i + 1] then\n"
    "    out[#out + 1] = 1\n"
    "  else\n"
    "    redis.call('ZREM', qk(r[3], r[4], 'leased'), id)\n"
    "    redis.call('HINCRBY', k, 'att', -1)\n"
    "    make_ready(id, r[3], r[4], t, r[5], r[6])\n"
    "    wake(r[3], r[4], 1)\n"
    "    out[#out + 1] = 0\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: prefix, max per queue. */
static const rf_script s_reap = {"reap", LUA_PRELUDE
    "local t, moved = now(), 0\n"
    "for _, q in ipairs(redis.call('SMEMBERS', P..'queues')) do\n"
    "  local s = string.find(q, '/', 1, true)\n"
    "  moved = moved + reap(string.sub(q, 1, s - 1), string.sub(q, s + 1), t, tonumber(ARGV[2]))\n"
    "end\n"
    "return moved\n"};

/* ARGV: prefix, ids... */
static const rf_script s_cancel = {"cancel", LUA_PRELUDE
    "local t = now()\n"
    "for i = 2, #ARGV do\n"
    "  local id = ARGV[i]\n"
    "  local k = tk(id)\n"
    "  local r = redis.call('HMGET', k, 'st', 'pool', 'type', 'run', 'step', 'idx', 'att')\n"
    "  if r[1] == 'ready' or r[1] == 'delayed' then\n"
    "    redis.call('ZREM', qk(r[2], r[3], r[1]), id)\n"
    "    redis.call('HSET', k, 'st', 'cancelled', 'fin', num(now_us()))\n"
    "    event('cancelled', id, r[4], r[5], r[6], r[7])\n"
    "  elseif r[1] == 'leased' then\n"
    "    redis.call('HSET', k, 'cxl', '1')\n"
    "  end\n"
    "end\n"
    "return 0\n"};

/* ARGV: prefix, ids... */
static const rf_script s_forget = {"forget", LUA_PRELUDE
    "for i = 2, #ARGV do\n"
    "  local id = ARGV[i]\n"
    "  local r = redis.call('HMGET', tk(id), 'pool', 'type')\n"
    "  if r[1] and r[2] then\n"
    "    for _, w in ipairs({'ready', 'delayed', 'leased', 'dead'}) do\n"
    "      redis.call('ZREM', qk(r[1], r[2], w), id)\n"
    "    end\n"
    "  end\n"
    "  redis.call('DEL', tk(id), P..'live:'..id)\n"
    "end\n"
    "return 0\n"};

/* ARGV: prefix, mode ("requeue" | "drop"), ids... Returns how many were dead. */
static const rf_script s_dlq_act = {"dlq", LUA_PRELUDE
    "local t, done = now(), 0\n"
    "for i = 3, #ARGV do\n"
    "  local id = ARGV[i]\n"
    "  local k = tk(id)\n"
    "  local r = redis.call('HMGET', k, 'st', 'pool', 'type', 'prio', 'seq')\n"
    "  if r[1] == 'dead' and r[2] and r[3] then\n"
    "    redis.call('ZREM', qk(r[2], r[3], 'dead'), id)\n"
    "    if ARGV[2] == 'drop' then\n"
    "      redis.call('DEL', k, P..'live:'..id)\n"
    "    else\n"
    "      redis.call('HSET', k, 'att', '0', 'err', '', 'fin', '0')\n"
    "      make_ready(id, r[2], r[3], t, r[4], r[5])\n"
    "      wake(r[2], r[3], 1)\n"
    "    end\n"
    "    done = done + 1\n"
    "  end\n"
    "end\n"
    "return done\n"};

/* ARGV: prefix, pool or '', type or '', limit. Flat rows of 8 strings. */
static const rf_script s_dlq_list = {"dlq ls", LUA_PRELUDE
    "local out, limit = {}, tonumber(ARGV[4])\n"
    "local qs = redis.call('SMEMBERS', P..'queues')\n"
    "table.sort(qs)\n"
    "for _, q in ipairs(qs) do\n"
    "  local s = string.find(q, '/', 1, true)\n"
    "  local pool, typ = string.sub(q, 1, s - 1), string.sub(q, s + 1)\n"
    "  if (ARGV[2] == '' or ARGV[2] == pool) and (ARGV[3] == '' or ARGV[3] == typ) then\n"
    "    local d = redis.call('ZRANGE', qk(pool, typ, 'dead'), 0, limit - 1, 'WITHSCORES')\n"
    "    for j = 1, #d, 2 do\n"
    "      if #out >= limit * 8 then return out end\n"
    "      local r = redis.call('HMGET', tk(d[j]), 'run', 'step', 'err', 'att')\n"
    "      for _, v in ipairs({d[j], pool, typ, r[1] or '', r[2] or '', r[3] or '',\n"
    "                           r[4] or '0', d[j + 1]}) do out[#out + 1] = v end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: prefix. Flat rows: pool, type, ready, delayed, leased, dead. */
static const rf_script s_stats = {"stats", LUA_PRELUDE
    "local out = {}\n"
    "local qs = redis.call('SMEMBERS', P..'queues')\n"
    "table.sort(qs)\n"
    "for _, q in ipairs(qs) do\n"
    "  local s = string.find(q, '/', 1, true)\n"
    "  local pool, typ = string.sub(q, 1, s - 1), string.sub(q, s + 1)\n"
    "  out[#out + 1] = pool\n"
    "  out[#out + 1] = typ\n"
    "  for _, w in ipairs({'ready', 'delayed', 'leased', 'dead'}) do\n"
    "    out[#out + 1] = redis.call('ZCARD', qk(pool, typ, w))\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: prefix, id, ttl_ms, then field, value pairs. */
static const rf_script s_worker_beat = {"worker beat", LUA_PRELUDE
    "local t = now()\n"
    "local k = P..'w:'..ARGV[2]\n"
    "local kv = {}\n"
    "for i = 4, #ARGV do kv[#kv + 1] = ARGV[i] end\n"
    "redis.call('HSET', k, 'seen', num(t), unpack(kv))\n"
    "redis.call('PEXPIRE', k, ARGV[3])\n"
    "redis.call('ZADD', P..'workers', num(t), ARGV[2])\n"
    "return 0\n"};

/* ARGV: prefix. Drops ids whose record expired; flat rows of 8. */
static const rf_script s_workers = {"workers", LUA_PRELUDE
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', P..'workers', 0, -1)) do\n"
    "  local r = redis.call('HMGET', P..'w:'..id, 'host', 'pid', 'pool', 'types', 'cur',\n"
    "    'started', 'seen')\n"
    "  if not r[7] then\n"
    "    redis.call('ZREM', P..'workers', id)\n"
    "  else\n"
    "    out[#out + 1] = id\n"
    "    for j = 1, 7 do out[#out + 1] = r[j] or '' end\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ---- validation ----------------------------------------------------- */

static int name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

int rf_queue_name_valid(const char *what, const char *s, rf_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > RF_QUEUE_NAME_MAX)
        return rf_errf(err, RF_EINVAL, "%s name must have 1 to %d characters", what,
                       RF_QUEUE_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)s[i]))
            return rf_errf(err, RF_EINVAL, "%s name \"%s\": only letters, digits and _ . - "
                           "are allowed", what, s);
    return 0;
}

int rf_queue_id_valid(const char *id, rf_err *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > RF_QUEUE_ID_MAX)
        return rf_errf(err, RF_EINVAL, "task id must have 1 to %d characters", RF_QUEUE_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)id[i]) && !strchr(":/@+=", id[i]))
            return rf_errf(err, RF_EINVAL, "task id \"%.64s\": bad character '%c'", id, id[i]);
    return 0;
}

/* ---- handle --------------------------------------------------------- */

void rf_queue_opts_default(rf_queue_opts *o)
{
    o->prefix = "rf:";
    o->lease_ms = 5000;
    o->retention_s = 7 * 24 * 3600;
}

int rf_queue_open(rf_redis *r, const rf_queue_opts *o, rf_queue **out, rf_err *err)
{
    rf_queue_opts d;
    rf_queue_opts_default(&d);
    if (!o)
        o = &d;
    if (o->lease_ms < LEASE_MIN_MS)
        return rf_errf(err, RF_EINVAL, "lease must be at least %d ms", LEASE_MIN_MS);
    rf_queue *q = rf_xcalloc(1, sizeof *q);
    q->r = r;
    q->prefix = rf_xstrdup(o->prefix ? o->prefix : "rf:");
    rf_buf b = RF_BUF_INIT;
    rf_buf_addf(&b, "%sevents", q->prefix);
    q->events_key = rf_buf_detach(&b, NULL);
    q->lease_ms = o->lease_ms;
    q->retention_s = o->retention_s < 0 ? 0 : o->retention_s;
    q->rand_state = (unsigned)(uintptr_t)q ^ (unsigned)o->lease_ms;
    *out = q;
    return 0;
}

void rf_queue_close(rf_queue *q)
{
    if (!q)
        return;
    free(q->prefix);
    free(q->events_key);
    free(q);
}

const char *rf_queue_prefix(const rf_queue *q) { return q->prefix; }
long rf_queue_lease_ms(const rf_queue *q) { return q->lease_ms; }
const char *rf_queue_events_key(const rf_queue *q) { return q->events_key; }

/* ---- argument vectors ----------------------------------------------- */

/* Script arguments: strings that either point into the caller's data or
 * into `own` (numbers formatted here). */
typedef struct args {
    const char **v;
    size_t n, cap;
    char **own;
    size_t nown;
} args;

static void args_add(args *a, const char *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = rf_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = s;
}

static void args_addf(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void args_addf(args *a, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    a->own = rf_xrealloc(a->own, (a->nown + 1) * sizeof *a->own);
    a->own[a->nown] = rf_xstrdup(tmp);
    args_add(a, a->own[a->nown++]);
}

static void args_free(args *a)
{
    for (size_t i = 0; i < a->nown; i++)
        free(a->own[i]);
    free(a->own);
    free(a->v);
}

static int run(rf_queue *q, const rf_script *s, args *a, redisReply **rep, rf_err *err)
{
    int rc = rf_redis_eval(q->r, s, 0, (int)a->n, a->v, NULL, rep, err);
    args_free(a);
    return rc;
}

/* Reply element as a string (integers formatted), "" for nil. */
static const char *el_str(const redisReply *e, char *tmp, size_t n)
{
    if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
        return e->str;
    if (e->type == REDIS_REPLY_INTEGER) {
        snprintf(tmp, n, "%lld", e->integer);
        return tmp;
    }
    return "";
}

static int64_t el_int(const redisReply *e)
{
    char tmp[32];
    return strtoll(el_str(e, tmp, sizeof tmp), NULL, 10);
}

static char *el_dup(const redisReply *e)
{
    char tmp[32];
    return rf_xstrdup(el_str(e, tmp, sizeof tmp));
}

/* Check an array reply of exactly n elements (or a multiple of `row`). */
static int want_array(const redisReply *rep, size_t n, size_t row, const char *what,
                      rf_err *err)
{
    if (rep->type != REDIS_REPLY_ARRAY || (n && rep->elements != n) ||
        (row && rep->elements % row))
        return rf_errf(err, RF_ECORRUPT, "%s: unexpected reply from Redis", what);
    return 0;
}

/* ---- operations ----------------------------------------------------- */

static int spec_valid(const rf_task_spec *t, rf_err *err)
{
    if (rf_queue_id_valid(t->id, err) != 0 ||
        rf_queue_name_valid("type", t->type, err) != 0 ||
        (t->pool && rf_queue_name_valid("pool", t->pool, err) != 0))
        return -1;
    if (t->priority < 0 || t->priority > RF_QUEUE_PRIO_MAX)
        return rf_errf(err, RF_EINVAL, "task %s: priority %d outside 0..%d", t->id,
                       t->priority, RF_QUEUE_PRIO_MAX);
    if (t->timeout_ms < 0 || t->max_attempts < 0 || t->backoff_ms < 0 || t->backoff_max_ms < 0)
        return rf_errf(err, RF_EINVAL, "task %s: negative timeout, attempts or backoff", t->id);
    if (!(t->jitter >= 0 && t->jitter <= 1))
        return rf_errf(err, RF_EINVAL, "task %s: jitter %g outside 0..1", t->id, t->jitter);
    if ((t->params && t->params[0] != '{') || (t->inputs && t->inputs[0] != '{'))
        return rf_errf(err, RF_EINVAL, "task %s: params and inputs must be JSON objects", t->id);
    return 0;
}

int rf_queue_enqueue(rf_queue *q, const rf_task_spec *tasks, size_t n, size_t *added,
                     rf_err *err)
{
    if (added)
        *added = 0;
    for (size_t i = 0; i < n; i++)
        if (spec_valid(&tasks[i], err) != 0)
            return rf_err_prefix(err, "enqueue");
    if (n == 0)
        return 0;
    args a = {0};
    args_add(&a, q->prefix);
    args_addf(&a, "%zu", n);
    for (size_t i = 0; i < n; i++) {
        const rf_task_spec *t = &tasks[i];
        args_add(&a, t->id);
        args_add(&a, t->run ? t->run : "");
        args_add(&a, t->step ? t->step : "");
        args_addf(&a, "%ld", t->index);
        args_add(&a, t->type);
        args_add(&a, t->pool ? t->pool : "default");
        args_addf(&a, "%d", t->priority);
        args_add(&a, t->params ? t->params : "{}");
        args_add(&a, t->inputs ? t->inputs : "{}");
        args_add(&a, t->tier ? t->tier : "hot");
        args_addf(&a, "%ld", t->timeout_ms);
        args_addf(&a, "%d", t->max_attempts ? t->max_attempts : 3);
        args_addf(&a, "%ld", t->backoff_ms ? t->backoff_ms : 1000);
        args_addf(&a, "%ld", t->backoff_max_ms ? t->backoff_max_ms : 60000);
        args_addf(&a, "%.4f", t->jitter);
    }
    redisReply *rep;
    if (run(q, &s_enqueue, &a, &rep, err) != 0)
        return rf_err_prefix(err, "enqueue");
    if (added)
        *added = (size_t)rep->integer;
    freeReplyObject(rep);
    return 0;
}

void rf_leases_free(rf_lease *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++) {
        free(l[i].id);
        free(l[i].run);
        free(l[i].step);
        free(l[i].type);
        free(l[i].pool);
        free(l[i].params);
        free(l[i].inputs);
        free(l[i].tier);
    }
    free(l);
}

static int types_valid(const char *pool, const char *const *types, size_t ntypes, rf_err *err)
{
    if (rf_queue_name_valid("pool", pool, err) != 0)
        return -1;
    if (ntypes == 0)
        return rf_errf(err, RF_EINVAL, "no task types given");
    for (size_t i = 0; i < ntypes; i++)
        if (rf_queue_name_valid("type", types[i], err) != 0)
            return -1;
    return 0;
}

static void lease_from(rf_lease *l, redisReply *row)
{
    redisReply **e = row->element;
    l->id = el_dup(e[0]);
    l->token = el_int(e[1]);
    l->attempt = (int)el_int(e[2]);
    l->run = el_dup(e[3]);
    l->step = el_dup(e[4]);
    l->index = (long)el_int(e[5]);
    l->type = el_dup(e[6]);
    l->pool = el_dup(e[7]);
    l->priority = (int)el_int(e[8]);
    l->params = el_dup(e[9]);
    l->inputs = el_dup(e[10]);
    l->tier = el_dup(e[11]);
    l->timeout_ms = (long)el_int(e[12]);
    l->max_attempts = (int)el_int(e[13]);
    l->enqueued_us = el_int(e[14]);
    l->started_us = el_int(e[15]);
}

static void take_args(rf_queue *q, args *a, const char *pool, const char *const *types,
                      size_t ntypes, const char *worker, size_t max)
{
    args_add(a, q->prefix);
    args_add(a, worker ? worker : "?");
    args_addf(a, "%zu", max);
    args_addf(a, "%ld", q->lease_ms);
    args_add(a, pool);
    for (size_t i = 0; i < ntypes; i++)
        args_add(a, types[i]);
}

static int take_reply(redisReply *rep, rf_lease **out, size_t *n, rf_err *err)
{
    if (want_array(rep, 0, 0, "take", err) != 0)
        return -1;
    for (size_t i = 0; i < rep->elements; i++)
        if (want_array(rep->element[i], 16, 0, "take", err) != 0)
            return -1;
    if (rep->elements) {
        *out = rf_xcalloc(rep->elements, sizeof **out);
        for (size_t i = 0; i < rep->elements; i++)
            lease_from(&(*out)[i], rep->element[i]);
        *n = rep->elements;
    }
    return 0;
}

int rf_queue_take(rf_queue *q, const char *pool, const char *const *types, size_t ntypes,
                  const char *worker, size_t max, rf_lease **out, size_t *n, rf_err *err)
{
    return rf_queue_commit_take(q, NULL, 0, NULL, pool, types, ntypes, worker, max, out, n,
                                err);
}

int rf_queue_wait(rf_queue *q, const char *pool, const char *const *types, size_t ntypes,
                  long timeout_ms, rf_err *err)
{
    if (types_valid(pool, types, ntypes, err) != 0)
        return -1;
    size_t argc = ntypes + 2;
    const char **v = rf_xcalloc(argc, sizeof *v);
    char **keys = rf_xcalloc(ntypes, sizeof *keys);
    char tmo[32];
    v[0] = "BLPOP";
    for (size_t i = 0; i < ntypes; i++) {
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%sq:%s:%s:wake", q->prefix, pool, types[i]);
        keys[i] = rf_buf_detach(&b, NULL);
        v[i + 1] = keys[i];
    }
    /* BLPOP takes seconds as a decimal since Redis 6. */
    snprintf(tmo, sizeof tmo, "%.3f", (double)(timeout_ms > 0 ? timeout_ms : 1) / 1000.0);
    v[argc - 1] = tmo;
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, (int)argc, v, NULL, &rep, err);
    for (size_t i = 0; i < ntypes; i++)
        free(keys[i]);
    free(keys);
    free(v);
    if (rc != 0)
        return rf_err_prefix(err, "wait for tasks");
    rc = rep->type == REDIS_REPLY_ARRAY;
    freeReplyObject(rep);
    return rc;
}

/* Run a batch script whose reply is one integer status per task. */
static int status_batch(rf_queue *q, const rf_script *s, args *a, size_t n, int *status,
                        rf_err *err)
{
    redisReply *rep;
    if (run(q, s, a, &rep, err) != 0)
        return rf_err_prefix(err, "%s", s->name);
    if (want_array(rep, n, 0, s->name, err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (status)
            status[i] = (int)rep->element[i]->integer;
    freeReplyObject(rep);
    return 0;
}

/* xorshift: jitter only needs to decorrelate retries, not be secret. */
static double jitter(rf_queue *q)
{
    unsigned x = q->rand_state ? q->rand_state : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    q->rand_state = x;
    return (double)(x % 10000) / 10000.0;
}

int rf_queue_heartbeat(rf_queue *q, const rf_lease_ref *l, const unsigned char *running,
                       size_t n, int *status, rf_err *err)
{
    if (n == 0)
        return 0;
    args a = {0};
    args_add(&a, q->prefix);
    args_addf(&a, "%ld", q->lease_ms);
    args_addf(&a, "%.4f", jitter(q));
    for (size_t i = 0; i < n; i++) {
        args_add(&a, l[i].id);
        args_addf(&a, "%" PRId64, l[i].token);
        args_add(&a, running && running[i] ? "1" : "0");
    }
    return status_batch(q, &s_heartbeat, &a, n, status, err);
}

static void commit_args(rf_queue *q, args *a, const rf_task_result *r, size_t n)
{
    args_add(a, q->prefix);
    args_addf(a, "%ld", q->retention_s);
    for (size_t i = 0; i < n; i++) {
        args_add(a, r[i].id);
        args_addf(a, "%" PRId64, r[i].token);
        args_add(a, r[i].outputs ? r[i].outputs : "{}");
        args_add(a, r[i].metrics ? r[i].metrics : "{}");
    }
}

static int status_reply(redisReply *rep, size_t n, int *status, const char *what, rf_err *err)
{
    if (want_array(rep, n, 0, what, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (status)
            status[i] = (int)rep->element[i]->integer;
    return 0;
}

int rf_queue_commit(rf_queue *q, const rf_task_result *r, size_t n, int *status, rf_err *err)
{
    if (n == 0)
        return 0;
    args a = {0};
    commit_args(q, &a, r, n);
    return status_batch(q, &s_commit, &a, n, status, err);
}

int rf_queue_commit_take(rf_queue *q, const rf_task_result *r, size_t nr, int *status,
                         const char *pool, const char *const *types, size_t ntypes,
                         const char *worker, size_t max, rf_lease **out, size_t *n,
                         rf_err *err)
{
    *out = NULL;
    *n = 0;
    if (types_valid(pool, types, ntypes, err) != 0)
        return rf_err_prefix(err, "take");
    args ca = {0}, ta = {0};
    rf_redis_call calls[2];
    size_t nc = 0;
    if (nr) {
        commit_args(q, &ca, r, nr);
        calls[nc++] = (rf_redis_call){&s_commit, 0, (int)ca.n, ca.v, NULL, NULL};
    }
    if (max) {
        take_args(q, &ta, pool, types, ntypes, worker, max);
        calls[nc++] = (rf_redis_call){&s_take, 0, (int)ta.n, ta.v, NULL, NULL};
    }
    int rc = nc ? rf_redis_eval_many(q->r, calls, nc, err) : 0;
    args_free(&ca);
    args_free(&ta);
    if (rc != 0)
        return rf_err_prefix(err, nr ? "commit and take" : "take from %s", pool);
    size_t i = 0;
    if (nr && status_reply(calls[i++].reply, nr, status, "commit", err) != 0)
        rc = -1;
    if (rc == 0 && max && take_reply(calls[i].reply, out, n, err) != 0)
        rc = -1;
    for (size_t j = 0; j < nc; j++)
        freeReplyObject(calls[j].reply);
    return rc;
}

int rf_queue_fail(rf_queue *q, const rf_lease_ref *l, int retryable, const char *reason,
                  int *outcome, rf_err *err)
{
    args a = {0};
    args_add(&a, q->prefix);
    args_add(&a, l->id);
    args_addf(&a, "%" PRId64, l->token);
    args_add(&a, retryable ? "1" : "0");
    args_add(&a, reason && *reason ? reason : "failed");
    args_addf(&a, "%.4f", jitter(q));
    redisReply *rep;
    if (run(q, &s_fail, &a, &rep, err) != 0)
        return rf_err_prefix(err, "fail %s", l->id);
    long long v = rep->integer;
    freeReplyObject(rep);
    if (v < 0)
        return rf_errf(err, RF_ECONFLICT, "fail %s: lease lost (token %" PRId64
                       " is stale; the task has another owner)", l->id, l->token);
    if (outcome)
        *outcome = v == 0 ? RF_FAIL_RETRY : RF_FAIL_DEAD;
    return 0;
}

int rf_queue_release(rf_queue *q, const rf_lease_ref *l, size_t n, int *status, rf_err *err)
{
    if (n == 0)
        return 0;
    args a = {0};
    args_add(&a, q->prefix);
    for (size_t i = 0; i < n; i++) {
        args_add(&a, l[i].id);
        args_addf(&a, "%" PRId64, l[i].token);
    }
    return status_batch(q, &s_release, &a, n, status, err);
}

int rf_queue_reap(rf_queue *q, size_t max, size_t *moved, rf_err *err)
{
    args a = {0};
    args_add(&a, q->prefix);
    args_addf(&a, "%zu", max ? max : 1000);
    redisReply *rep;
    if (run(q, &s_reap, &a, &rep, err) != 0)
        return rf_err_prefix(err, "reap");
    if (moved)
        *moved = (size_t)rep->integer;
    freeReplyObject(rep);
    return 0;
}

/* Scripts that take a list of ids: run in chunks to bound script time. */
static int ids_script(rf_queue *q, const rf_script *s, const char *mode,
                      const char *const *ids, size_t n, size_t *done, rf_err *err)
{
    if (done)
        *done = 0;
    for (size_t off = 0; off < n; off += 1000) {
        size_t m = n - off < 1000 ? n - off : 1000;
        args a = {0};
        args_add(&a, q->prefix);
        if (mode)
            args_add(&a, mode);
        for (size_t i = 0; i < m; i++) {
            if (rf_queue_id_valid(ids[off + i], err) != 0) {
                args_free(&a);
                return rf_err_prefix(err, "%s", s->name);
            }
            args_add(&a, ids[off + i]);
        }
        redisReply *rep;
        if (run(q, s, &a, &rep, err) != 0)
            return rf_err_prefix(err, "%s", s->name);
        if (done)
            *done += (size_t)rep->integer;
        freeReplyObject(rep);
    }
    return 0;
}

int rf_queue_cancel(rf_queue *q, const char *const *ids, size_t n, rf_err *err)
{
    return ids_script(q, &s_cancel, NULL, ids, n, NULL, err);
}

int rf_queue_forget(rf_queue *q, const char *const *ids, size_t n, rf_err *err)
{
    return ids_script(q, &s_forget, NULL, ids, n, NULL, err);
}

int rf_queue_dlq_requeue(rf_queue *q, const char *const *ids, size_t n, size_t *done,
                         rf_err *err)
{
    return ids_script(q, &s_dlq_act, "requeue", ids, n, done, err);
}

int rf_queue_dlq_drop(rf_queue *q, const char *const *ids, size_t n, size_t *done,
                      rf_err *err)
{
    return ids_script(q, &s_dlq_act, "drop", ids, n, done, err);
}

void rf_task_info_free(rf_task_info *t)
{
    free(t->id);
    free(t->state);
    free(t->run);
    free(t->step);
    free(t->type);
    free(t->pool);
    free(t->worker);
    free(t->outputs);
    free(t->metrics);
    free(t->error);
    memset(t, 0, sizeof *t);
}

int rf_queue_get(rf_queue *q, const char *id, rf_task_info *info, rf_err *err)
{
    static const char *fields[] = {"st", "run", "step", "type", "pool", "idx", "att",
                                   "maxa", "tok", "wk", "out", "met", "err", "enq",
                                   "start", "fin"};
    enum { NF = sizeof fields / sizeof fields[0] };
    memset(info, 0, sizeof *info);
    if (rf_queue_id_valid(id, err) != 0)
        return -1;
    rf_buf key = RF_BUF_INIT;
    rf_buf_addf(&key, "%st:%s", q->prefix, id);
    const char *v[NF + 2] = {"HMGET", key.data};
    for (int i = 0; i < NF; i++)
        v[i + 2] = fields[i];
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, NF + 2, v, NULL, &rep, err);
    rf_buf_free(&key);
    if (rc != 0)
        return rf_err_prefix(err, "get task %s", id);
    if (want_array(rep, NF, 0, "get", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    redisReply **e = rep->element;
    if (e[0]->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return 0;
    }
    info->id = rf_xstrdup(id);
    info->state = el_dup(e[0]);
    info->run = el_dup(e[1]);
    info->step = el_dup(e[2]);
    info->type = el_dup(e[3]);
    info->pool = el_dup(e[4]);
    info->index = (long)el_int(e[5]);
    info->attempt = (int)el_int(e[6]);
    info->max_attempts = (int)el_int(e[7]);
    info->token = el_int(e[8]);
    info->worker = el_dup(e[9]);
    info->outputs = el_dup(e[10]);
    info->metrics = el_dup(e[11]);
    info->error = el_dup(e[12]);
    info->enqueued_us = el_int(e[13]);
    info->started_us = el_int(e[14]);
    info->finished_us = el_int(e[15]);
    freeReplyObject(rep);
    return 1;
}

int rf_queue_stats(rf_queue *q, rf_queue_stat **out, size_t *n, rf_err *err)
{
    *out = NULL;
    *n = 0;
    args a = {0};
    args_add(&a, q->prefix);
    redisReply *rep;
    if (run(q, &s_stats, &a, &rep, err) != 0)
        return rf_err_prefix(err, "queue stats");
    if (want_array(rep, 0, 6, "stats", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    size_t rows = rep->elements / 6;
    *out = rf_xcalloc(rows ? rows : 1, sizeof **out);
    for (size_t i = 0; i < rows; i++) {
        redisReply **e = rep->element + i * 6;
        rf_queue_stat *s = &(*out)[i];
        char tmp[32];
        snprintf(s->pool, sizeof s->pool, "%s", el_str(e[0], tmp, sizeof tmp));
        snprintf(s->type, sizeof s->type, "%s", el_str(e[1], tmp, sizeof tmp));
        s->ready = el_int(e[2]);
        s->delayed = el_int(e[3]);
        s->leased = el_int(e[4]);
        s->dead = el_int(e[5]);
    }
    *n = rows;
    freeReplyObject(rep);
    return 0;
}

void rf_dead_free(rf_dead *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].id);
        free(d[i].pool);
        free(d[i].type);
        free(d[i].run);
        free(d[i].step);
        free(d[i].reason);
    }
    free(d);
}

int rf_queue_dlq_list(rf_queue *q, const char *pool, const char *type, size_t limit,
                      rf_dead **out, size_t *n, rf_err *err)
{
    *out = NULL;
    *n = 0;
    args a = {0};
    args_add(&a, q->prefix);
    args_add(&a, pool ? pool : "");
    args_add(&a, type ? type : "");
    args_addf(&a, "%zu", limit ? limit : 100);
    redisReply *rep;
    if (run(q, &s_dlq_list, &a, &rep, err) != 0)
        return rf_err_prefix(err, "dlq ls");
    if (want_array(rep, 0, 8, "dlq ls", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    size_t rows = rep->elements / 8;
    *out = rf_xcalloc(rows ? rows : 1, sizeof **out);
    for (size_t i = 0; i < rows; i++) {
        redisReply **e = rep->element + i * 8;
        rf_dead *d = &(*out)[i];
        d->id = el_dup(e[0]);
        d->pool = el_dup(e[1]);
        d->type = el_dup(e[2]);
        d->run = el_dup(e[3]);
        d->step = el_dup(e[4]);
        d->reason = el_dup(e[5]);
        d->attempts = (int)el_int(e[6]);
        d->dead_ms = el_int(e[7]);
    }
    *n = rows;
    freeReplyObject(rep);
    return 0;
}

/* ---- worker registry ------------------------------------------------- */

int rf_queue_worker_beat(rf_queue *q, const rf_worker_info *w, long ttl_ms, rf_err *err)
{
    args a = {0};
    args_add(&a, q->prefix);
    args_add(&a, w->id);
    args_addf(&a, "%ld", ttl_ms > 0 ? ttl_ms : 3 * q->lease_ms);
    args_add(&a, "host"), args_add(&a, w->host ? w->host : "");
    args_add(&a, "pid"), args_addf(&a, "%ld", w->pid);
    args_add(&a, "pool"), args_add(&a, w->pool ? w->pool : "");
    args_add(&a, "types"), args_add(&a, w->types ? w->types : "");
    args_add(&a, "cur"), args_add(&a, w->current ? w->current : "");
    args_add(&a, "started"), args_addf(&a, "%" PRId64, w->started_ms);
    redisReply *rep;
    if (run(q, &s_worker_beat, &a, &rep, err) != 0)
        return rf_err_prefix(err, "worker heartbeat");
    freeReplyObject(rep);
    return 0;
}

int rf_queue_worker_gone(rf_queue *q, const char *id, rf_err *err)
{
    rf_buf k = RF_BUF_INIT, z = RF_BUF_INIT;
    rf_buf_addf(&k, "%sw:%s", q->prefix, id);
    rf_buf_addf(&z, "%sworkers", q->prefix);
    const char *v1[] = {"DEL", k.data};
    const char *v2[] = {"ZREM", z.data, id};
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, 2, v1, NULL, &rep, err);
    if (rc == 0) {
        freeReplyObject(rep);
        rc = rf_redis_cmdv(q->r, 3, v2, NULL, &rep, err);
        if (rc == 0)
            freeReplyObject(rep);
    }
    rf_buf_free(&k);
    rf_buf_free(&z);
    return rc;
}

void rf_worker_info_free(rf_worker_info *w, size_t n)
{
    if (!w)
        return;
    for (size_t i = 0; i < n; i++) {
        free(w[i].id);
        free(w[i].host);
        free(w[i].pool);
        free(w[i].types);
        free(w[i].current);
    }
    free(w);
}

int rf_queue_workers(rf_queue *q, rf_worker_info **out, size_t *n, rf_err *err)
{
    *out = NULL;
    *n = 0;
    args a = {0};
    args_add(&a, q->prefix);
    redisReply *rep;
    if (run(q, &s_workers, &a, &rep, err) != 0)
        return rf_err_prefix(err, "workers");
    if (want_array(rep, 0, 8, "workers", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    size_t rows = rep->elements / 8;
    *out = rf_xcalloc(rows ? rows : 1, sizeof **out);
    for (size_t i = 0; i < rows; i++) {
        redisReply **e = rep->element + i * 8;
        rf_worker_info *w = &(*out)[i];
        w->id = el_dup(e[0]);
        w->host = el_dup(e[1]);
        w->pid = (long)el_int(e[2]);
        w->pool = el_dup(e[3]);
        w->types = el_dup(e[4]);
        w->current = el_dup(e[5]);
        w->started_ms = el_int(e[6]);
        w->seen_ms = el_int(e[7]);
    }
    *n = rows;
    freeReplyObject(rep);
    return 0;
}

/* ---- live telemetry -------------------------------------------------- */

static int simple(rf_queue *q, int argc, const char **v, rf_err *err)
{
    redisReply *rep;
    if (rf_redis_cmdv(q->r, argc, v, NULL, &rep, err) != 0)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int rf_queue_live_metric(rf_queue *q, const char *id, const char *name, double value,
                         rf_err *err)
{
    char key[RF_QUEUE_ID_MAX + 128], val[64];
    snprintf(key, sizeof key, "%slive:%s", q->prefix, id);
    snprintf(val, sizeof val, "%.17g", value);
    const char *v[] = {"HSET", key, name, isfinite(value) ? val : "null"};
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%ld", q->retention_s > 0 ? q->retention_s : 7L * 24 * 3600);
    const char *x[] = {"EXPIRE", key, ttl};
    /* Live metrics outlive the task by the retention, like its record. */
    return simple(q, 4, v, err) == 0 && simple(q, 3, x, err) == 0 ? 0 : -1;
}

int rf_queue_progress(rf_queue *q, const char *run, const char *id, const char *series,
                      int64_t step, const char *const *keys, const double *vals, size_t n,
                      rf_err *err)
{
    char key[512], st[32];
    snprintf(key, sizeof key, "%srun:%s:progress", q->prefix, run && *run ? run : "-");
    snprintf(st, sizeof st, "%" PRId64, step);
    size_t argc = 12 + 2 * n;
    const char **v = rf_xcalloc(argc, sizeof *v);
    char (*num)[32] = rf_xcalloc(n ? n : 1, sizeof *num);
    size_t k = 0;
    v[k++] = "XADD", v[k++] = key, v[k++] = "MAXLEN", v[k++] = "~", v[k++] = "100000";
    v[k++] = "*", v[k++] = "task", v[k++] = id, v[k++] = "series", v[k++] = series;
    v[k++] = "step", v[k++] = st;
    for (size_t i = 0; i < n; i++) {
        snprintf(num[i], sizeof num[i], "%.9g", vals[i]);
        v[k++] = keys[i];
        v[k++] = num[i];
    }
    int rc = simple(q, (int)k, v, err);
    free(num);
    free(v);
    return rc;
}

int rf_queue_log_line(rf_queue *q, const char *run, const char *id, const char *line,
                      rf_err *err)
{
    char key[512];
    snprintf(key, sizeof key, "%srun:%s:log", q->prefix, run && *run ? run : "-");
    const char *v[] = {"XADD", key, "MAXLEN", "~", "10000", "*", "task", id, "line", line};
    return simple(q, 10, v, err);
}
