/* rf_queue_lua: the queue's Lua scripts, one per state change of a task
 * (enqueue, take, heartbeat, commit, fail, release, reap...), with the
 * helpers they share. Each runs atomically on Redis; docs/redis-schema.md
 * describes the keys. */
#include "engine/rf_queue_impl.h"

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
const rf_script rf_queue_lua_enqueue = {"enqueue", LUA_PRELUDE
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
const rf_script rf_queue_lua_take = {"take", LUA_PRELUDE LUA_CHECK
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
const rf_script rf_queue_lua_heartbeat = {"heartbeat", LUA_PRELUDE
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
const rf_script rf_queue_lua_commit = {"commit", LUA_PRELUDE
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
const rf_script rf_queue_lua_fail = {"fail", LUA_PRELUDE
    "local id = ARGV[2]\n"
    "local r = redis.call('HMGET', tk(id), 'st', 'tok')\n"
    "if r[1] ~= 'leased' or r[2] ~= ARGV[3] then return -1 end\n"
    "return fail_leased(id, ARGV[5], ARGV[4] == '1', tonumber(ARGV[6]), now())\n"};

/* ARGV: prefix, then id, token pairs. */
const rf_script rf_queue_lua_release = {"release", LUA_PRELUDE
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
const rf_script rf_queue_lua_reap = {"reap", LUA_PRELUDE
    "local t, moved = now(), 0\n"
    "for _, q in ipairs(redis.call('SMEMBERS', P..'queues')) do\n"
    "  local s = string.find(q, '/', 1, true)\n"
    "  moved = moved + reap(string.sub(q, 1, s - 1), string.sub(q, s + 1), t, tonumber(ARGV[2]))\n"
    "end\n"
    "return moved\n"};

/* ARGV: prefix, ids... */
const rf_script rf_queue_lua_cancel = {"cancel", LUA_PRELUDE
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
const rf_script rf_queue_lua_forget = {"forget", LUA_PRELUDE
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
const rf_script rf_queue_lua_dlq_act = {"dlq", LUA_PRELUDE
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
const rf_script rf_queue_lua_dlq_list = {"dlq ls", LUA_PRELUDE
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
const rf_script rf_queue_lua_stats = {"stats", LUA_PRELUDE
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
const rf_script rf_queue_lua_worker_beat = {"worker beat", LUA_PRELUDE
    "local t = now()\n"
    "local k = P..'w:'..ARGV[2]\n"
    "local kv = {}\n"
    "for i = 4, #ARGV do kv[#kv + 1] = ARGV[i] end\n"
    "redis.call('HSET', k, 'seen', num(t), unpack(kv))\n"
    "redis.call('PEXPIRE', k, ARGV[3])\n"
    "redis.call('ZADD', P..'workers', num(t), ARGV[2])\n"
    "return 0\n"};

/* ARGV: prefix. Drops ids whose record expired; flat rows of 8. */
const rf_script rf_queue_lua_workers = {"workers", LUA_PRELUDE
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
