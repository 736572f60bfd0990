/* rf_sched_lua: the scheduler's Lua scripts, one per state transition of a
 * run (submit, finish, cache, trim...). Each runs atomically on Redis;
 * docs/redis-schema.md ("Runs") describes the keys they touch. */
#include "engine/rf_sched_impl.h"

/* ------------------------------------------------------------ Lua scripts */

#define LUA_NOW \
    "local function now() local t = redis.call('TIME') " \
    "return t[1] * 1000 + math.floor(t[2] / 1000) end\n"

/* ARGV: P, run, name, file, plan, nocache, ntasks, nsteps, then per step
 * (total, needs). Roots go to todo; a scheduler is woken by an event. */
const rf_script rf_sched_lua_submit = {"run submit", LUA_NOW
    "local P, R = ARGV[1], ARGV[2]\n"
    "local run = P .. 'run:' .. R\n"
    "if redis.call('EXISTS', run) == 1 then return 0 end\n"
    "local t, nsteps = now(), tonumber(ARGV[8])\n"
    "redis.call('HSET', run, 'name', ARGV[3], 'file', ARGV[4], 'state', 'running',\n"
    "  'created', t, 'finished', 0, 'nocache', ARGV[6], 'tasks', ARGV[7],\n"
    "  'nsteps', nsteps, 'left', nsteps, 'done', 0, 'cache', 0, 'skip', 0,\n"
    "  'failed', 0, 'error', '')\n"
    "redis.call('SET', run .. ':plan', ARGV[5])\n"
    "for i = 0, nsteps - 1 do\n"
    "  local total, needs = ARGV[9 + 2 * i], tonumber(ARGV[10 + 2 * i])\n"
    "  redis.call('HSET', run .. ':steps', 't.' .. i, total, 'n.' .. i, total,\n"
    "    'w.' .. i, needs, 'f.' .. i, 0, 'x.' .. i, 0, 'd.' .. i, 0, 'c.' .. i, 0,\n"
    "    'k.' .. i, 0)\n"
    "  if needs == 0 then redis.call('HINCRBY', run .. ':todo', i, 1) end\n"
    "end\n"
    "redis.call('ZADD', P .. 'runs', t, R)\n"
    "redis.call('SADD', P .. 'runs:active', R)\n"
    "redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',\n"
    "  'run', R)\n"
    "return 1\n"};

/* ARGV: P, then per task: run, step, idx, kind (done|cache|skip|fail),
 * result JSON, chain (0|1), error text, number of dependents, dependents...
 * Idempotent: a task finishes once (its bit in the step's bitmap). Returns
 * the number of tasks whose finishing released a step or a chain link. */
const rf_script rf_sched_lua_finish = {"run finish", LUA_NOW
    "local P, i, released = ARGV[1], 2, 0\n"
    "local function finish(R, s, idx, kind, res, chain, why, deps)\n"
    "  local run = P .. 'run:' .. R\n"
    "  local state = redis.call('HGET', run, 'state')\n"
    "  if not state then return 0 end\n"
    "  local steps, key = run .. ':steps', s .. '/' .. idx\n"
    "  if redis.call('GETBIT', run .. ':fin:' .. s, idx) == 1 then return 0 end\n"
    "  if kind == 'fail' then\n"
    "    if redis.call('HSETNX', run .. ':res', key, res) == 0 then return 0 end\n"
    "    redis.call('HINCRBY', steps, 'x.' .. s, 1)\n"
    "    redis.call('HINCRBY', run, 'failed', 1)\n"
    "    if state == 'running' then\n"
    "      redis.call('HSET', run, 'state', 'failed', 'finished', now(), 'error', why)\n"
    "      redis.call('SREM', P .. 'runs:active', R)\n"
    "    end\n"
    "    return 0\n"
    "  end\n"
    "  redis.call('SETBIT', run .. ':fin:' .. s, idx, 1)\n"
    "  if kind ~= 'done' then redis.call('HSET', run .. ':res', key, res) end\n"
    "  local short = ({done = 'd', cache = 'c', skip = 'k'})[kind]\n"
    "  redis.call('HINCRBY', run, kind, 1)\n"
    "  redis.call('HINCRBY', steps, short .. '.' .. s, 1)\n"
    "  local fin = redis.call('HINCRBY', steps, 'f.' .. s, 1)\n"
    "  local total = tonumber(redis.call('HGET', steps, 't.' .. s))\n"
    "  if fin >= total then\n"
    "    for _, d in ipairs(deps) do\n"
    "      if redis.call('HINCRBY', steps, 'w.' .. d, -1) == 0 then\n"
    "        redis.call('HINCRBY', run .. ':todo', d, 1)\n"
    "      end\n"
    "    end\n"
    "    if redis.call('HINCRBY', run, 'left', -1) == 0 and state == 'running' then\n"
    "      redis.call('HSET', run, 'state', 'succeeded', 'finished', now())\n"
    "      redis.call('SREM', P .. 'runs:active', R)\n"
    "    end\n"
    "    return #deps > 0 and 1 or 0\n"
    "  elseif chain == '1' then\n"
    "    redis.call('HINCRBY', run .. ':todo', s, 1)\n"
    "    return 1\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "while i <= #ARGV do\n"
    "  local nd = tonumber(ARGV[i + 7])\n"
    "  local deps = {}\n"
    "  for k = 1, nd do deps[k] = ARGV[i + 7 + k] end\n"
    "  released = released + finish(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]),\n"
    "    ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], deps)\n"
    "  i = i + 8 + nd\n"
    "end\n"
    "return released\n"};

/* ARGV: P, run, step, idx, k, max. A task asks for k more tasks in its
 * step; once per task, within the step's budget. Returns tasks added. */
const rf_script rf_sched_lua_spawn = {"run spawn",
    "local P, R, s, idx, k, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4],\n"
    "  tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local run = P .. 'run:' .. R\n"
    "if not redis.call('HGET', run, 'state') then return 0 end\n"
    "if redis.call('HSETNX', run .. ':spawned', s .. '/' .. idx, k) == 0 then return 0 end\n"
    "local steps = run .. ':steps'\n"
    "local total = tonumber(redis.call('HGET', steps, 't.' .. s))\n"
    "local base = tonumber(redis.call('HGET', steps, 'n.' .. s))\n"
    "k = math.min(k, max - (total - base))\n"
    "if k <= 0 then return 0 end\n"
    "redis.call('HINCRBY', steps, 't.' .. s, k)\n"
    "redis.call('HINCRBY', run, 'tasks', k)\n"
    "redis.call('HINCRBY', run .. ':todo', s, 1)\n"
    "return k\n"};

/* ARGV: P, run, step, seen. Drop the todo entry unless re-released since. */
const rf_script rf_sched_lua_todo_done = {"run todo",
    "local k = ARGV[1] .. 'run:' .. ARGV[2] .. ':todo'\n"
    "if redis.call('HGET', k, ARGV[3]) == ARGV[4] then redis.call('HDEL', k, ARGV[3]) end\n"
    "return 0\n"};

/* KEYS: lock. ARGV: owner, ms (0 = release). */
const rf_script rf_sched_lua_lock = {"run lock",
    "local v = redis.call('GET', KEYS[1])\n"
    "if tonumber(ARGV[2]) == 0 then\n"
    "  if v == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "  return 1\n"
    "end\n"
    "if v and v ~= ARGV[1] then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n"};

/* ARGV: P, run, step index, step name, from, to. Per task: {"r", result
 * JSON} (not run on a worker), {"d", out, met} (committed), or {""}. */
const rf_script rf_sched_lua_gather = {"run gather",
    "local P, R, s, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local run = P .. 'run:' .. R\n"
    "local out = {}\n"
    "for i = tonumber(ARGV[5]), tonumber(ARGV[6]) - 1 do\n"
    "  local r = redis.call('HGET', run .. ':res', s .. '/' .. i)\n"
    "  if r then\n"
    "    out[#out + 1] = 'r'; out[#out + 1] = r; out[#out + 1] = ''\n"
    "  else\n"
    "    local t = redis.call('HMGET', P .. 't:' .. R .. '/' .. name .. '/' .. i,\n"
    "      'st', 'out', 'met')\n"
    "    if t[1] == 'done' then\n"
    "      out[#out + 1] = 'd'; out[#out + 1] = t[2] or '{}'; out[#out + 1] = t[3] or '{}'\n"
    "    else\n"
    "      out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: P, run, then step names in plan order. Per step 13 numbers: total,
 * finished, failed, done, cached, skipped, waiting-needs, then unfinished
 * tasks by record state: leased, ready, delayed, dead, none, other. */
const rf_script rf_sched_lua_status = {"run status",
    "local P, R = ARGV[1], ARGV[2]\n"
    "local run = P .. 'run:' .. R\n"
    "local steps = run .. ':steps'\n"
    "local out = {}\n"
    "for i = 0, #ARGV - 3 do\n"
    "  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'x.' .. i, 'd.' .. i,\n"
    "    'c.' .. i, 'k.' .. i, 'w.' .. i)\n"
    "  for j = 1, 7 do out[#out + 1] = tonumber(v[j]) or 0 end\n"
    "  local c = {leased = 0, ready = 0, delayed = 0, dead = 0, none = 0, other = 0}\n"
    "  local total, fin = tonumber(v[1]) or 0, tonumber(v[2]) or 0\n"
    "  if fin < total and (tonumber(v[7]) or 0) == 0 and total <= 200000 then\n"
    "    local bits = run .. ':fin:' .. i\n"
    "    for idx = 0, total - 1 do\n"
    "      if redis.call('GETBIT', bits, idx) == 0 then\n"
    "        local st = redis.call('HGET', P .. 't:' .. R .. '/' .. ARGV[3 + i] .. '/' .. idx, 'st')\n"
    "        if not st then st = 'none' elseif c[st] == nil then st = 'other' end\n"
    "        c[st] = c[st] + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for _, k in ipairs({'leased', 'ready', 'delayed', 'dead', 'none', 'other'}) do\n"
    "    out[#out + 1] = c[k]\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: P, run. Cancel: a finished run cannot be cancelled. */
const rf_script rf_sched_lua_cancel = {"run cancel", LUA_NOW
    "local run = ARGV[1] .. 'run:' .. ARGV[2]\n"
    "local st = redis.call('HGET', run, 'state')\n"
    "if not st then return -1 end\n"
    "if st == 'succeeded' or st == 'cancelled' then return 0 end\n"
    "redis.call('HSET', run, 'state', 'cancelled', 'finished', now())\n"
    "redis.call('SREM', ARGV[1] .. 'runs:active', ARGV[2])\n"
    "redis.call('DEL', run .. ':todo')\n"
    "return 1\n"};

/* ARGV: P, run, mode (retry | resume | sync). Puts the run back to running
 * (except sync), forgets failures (retry), and re-derives todo: every step
 * whose needs are met and that has unfinished tasks. Returns {state before,
 * failed task keys "STEP/IDX"...}. */
const rf_script rf_sched_lua_reopen = {"run reopen",
    "local P, R, mode = ARGV[1], ARGV[2], ARGV[3]\n"
    "local run = P .. 'run:' .. R\n"
    "local st = redis.call('HGET', run, 'state')\n"
    "if not st then return {''} end\n"
    "local out = {st}\n"
    "if mode == 'sync' and st ~= 'running' then return out end\n"
    "if mode == 'retry' then\n"
    "  if st ~= 'failed' then return out end\n"
    "  local res = redis.call('HGETALL', run .. ':res')\n"
    "  for i = 1, #res, 2 do\n"
    "    if string.find(res[i + 1], '\"h\":\"fail\"', 1, true) then\n"
    "      redis.call('HDEL', run .. ':res', res[i])\n"
    "      out[#out + 1] = res[i]\n"
    "    end\n"
    "  end\n"
    "elseif mode == 'resume' and st == 'succeeded' then\n"
    "  return out\n"
    "end\n"
    "local steps = run .. ':steps'\n"
    "local n = tonumber(redis.call('HGET', run, 'nsteps'))\n"
    "for i = 0, n - 1 do\n"
    "  if mode == 'retry' then redis.call('HSET', steps, 'x.' .. i, 0) end\n"
    "  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'w.' .. i, 'x.' .. i)\n"
    "  if tonumber(v[3]) == 0 and tonumber(v[2]) < tonumber(v[1]) then\n"
    "    redis.call('HINCRBY', run .. ':todo', i, 1)\n"
    "  end\n"
    "end\n"
    "if mode ~= 'sync' and tonumber(redis.call('HGET', run, 'left')) == 0 then\n"
    "  redis.call('HSET', run, 'state', 'succeeded', 'error', '')\n"
    "  redis.call('SREM', P .. 'runs:active', R)\n"
    "elseif mode ~= 'sync' then\n"
    "  redis.call('HSET', run, 'state', 'running', 'finished', 0, 'error', '')\n"
    "  if mode == 'retry' then redis.call('HSET', run, 'failed', 0) end\n"
    "  redis.call('SADD', P .. 'runs:active', R)\n"
    "  redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',\n"
    "    'run', R)\n"
    "end\n"
    "return out\n"};

/* ARGV: P, ms, then key/value pairs: cache entries with a time to live. */
const rf_script rf_sched_lua_cache_put = {"cache put",
    "for i = 3, #ARGV, 2 do\n"
    "  redis.call('SET', ARGV[1] .. 'cache:' .. ARGV[i], ARGV[i + 1], 'PX', ARGV[2])\n"
    "end\n"
    "return 0\n"};

/* ARGV: P, run, step names... Delete a run's keys (retention). */
const rf_script rf_sched_lua_trim = {"run trim",
    "local P, R = ARGV[1], ARGV[2]\n"
    "local run = P .. 'run:' .. R\n"
    "for i = 0, #ARGV - 3 do redis.call('DEL', run .. ':fin:' .. i) end\n"
    "redis.call('DEL', run, run .. ':plan', run .. ':steps', run .. ':res',\n"
    "  run .. ':todo', run .. ':spawned', run .. ':lock', run .. ':log',\n"
    "  run .. ':progress')\n"
    "redis.call('ZREM', P .. 'runs', R)\n"
    "redis.call('SREM', P .. 'runs:active', R)\n"
    "return 0\n"};
