-- rf_queue_prelude.lua: helpers shared by every queue script, pulled in
-- where a script says "-- @include rf_queue_prelude.lua" (see
-- infra/build/embed_lua.sh). ARGV[1] is always the key prefix.
local P = ARGV[1]
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function qk(pool, typ, what) return P..'q:'..pool..':'..typ..':'..what end
local function tk(id) return P..'t:'..id end
local function num(x) return string.format('%d', x) end
local function score(prio, seq)
  return num((1000 - (tonumber(prio) or 0)) * 1099511627776 + (tonumber(seq) or 0))
end
-- What a task shares with the other tasks of its step (priority, retry
-- policy, tier) is stored once, in the hash P..'pol': field ID -> "prio
-- maxa bo bomax jit tier", field "="..that string -> ID, field n -> last
-- ID. A record names its policy in 'pol' (docs/redis-schema.md); older
-- records, and ones written by hand, carry the fields themselves.
local POLF = {prio = 1, maxa = 2, bo = 3, bomax = 4, jit = 5, tier = 6}
local pols = {}
local function policy(id)
  local p = pols[id]
  if p == nil then
    local s = redis.call('HGET', P..'pol', id)
    p = s and {string.match(s, '^(%S+) (%S+) (%S+) (%S+) (%S+) (.*)$')} or {}
    pols[id] = p
  end
  return p
end
-- HMGET of a task record's fields, shared ones resolved (false = absent).
local function task_get(k, ...)
  local names = {...}
  local r = redis.call('HMGET', k, 'pol', ...)
  local pol, out = r[1], {}
  for i = 1, #names do
    local v = r[i + 1]
    if not v and pol and POLF[names[i]] then v = policy(pol)[POLF[names[i]]] or false end
    out[i] = v
  end
  return out
end
-- One command over many members: cmd key list[1] list[2] ..., in chunks
-- (Lua's unpack has a limit); `per` is even for score/member pairs.
local function multi(cmd, key, list)
  local per = 1000
  for i = 1, #list, per do
    redis.call(cmd, key, unpack(list, i, math.min(i + per - 1, #list)))
  end
end
local function wake(pool, typ, n)
  local k = qk(pool, typ, 'wake')
  local add = math.min(n, 64 - redis.call('LLEN', k))
  if add > 0 then
    local t = {}
    for i = 1, add do t[i] = '1' end
    redis.call('RPUSH', k, unpack(t))
  end
end
local function event(ev, id, run, step, idx, att)
  redis.call('XADD', P..'events', 'MAXLEN', '~', '1000000', '*', 'ev', ev,
    'task', id, 'run', run or '', 'step', step or '', 'idx', idx or '0',
    'att', att or '0')
end
local function to_dead(id, pool, typ, reason, t)
  local k = tk(id)
  redis.call('HSET', k, 'st', 'dead', 'err', reason, 'fin', num(now_us()))
  redis.call('ZADD', qk(pool, typ, 'dead'), num(t), id)
  local r = redis.call('HMGET', k, 'run', 'step', 'idx', 'att')
  event('dead', id, r[1], r[2], r[3], r[4])
end
-- A leased task failed: cancelled, retried after its backoff (u in
-- [0,1) draws the jitter), or dead. Returns 2, 0 or 1 (rf_queue_fail).
local function fail_leased(id, why, retryable, u, t)
  local k = tk(id)
  local r = task_get(k, 'pool', 'type', 'att', 'maxa', 'bo', 'bomax',
    'run', 'step', 'idx', 'cxl', 'jit')
  redis.call('ZREM', qk(r[1], r[2], 'leased'), id)
  if r[10] == '1' then
    redis.call('HSET', k, 'st', 'cancelled', 'err', why, 'fin', num(now_us()))
    event('cancelled', id, r[7], r[8], r[9], r[3])
    return 2
  end
  local att, maxa = tonumber(r[3]) or 0, tonumber(r[4]) or 0
  if retryable and att < maxa then
    local bo, cap = tonumber(r[5]) or 1000, tonumber(r[6]) or 60000
    local d = math.min(cap, bo * 2 ^ (att - 1)) * (1 - (tonumber(r[11]) or 0) * u)
    redis.call('HSET', k, 'st', 'delayed', 'err', why)
    redis.call('ZADD', qk(r[1], r[2], 'delayed'), num(t + d), id)
    event('retry', id, r[7], r[8], r[9], r[3])
    return 0
  end
  if retryable then why = why..' (attempt '..att..' of '..maxa..')' end
  to_dead(id, r[1], r[2], why, t)
  return 1
end
local function make_ready(id, pool, typ, t, r_prio, r_seq)
  redis.call('HSET', tk(id), 'st', 'ready', 'enq', num(now_us()))
  redis.call('ZADD', qk(pool, typ, 'ready'), score(r_prio, r_seq), id)
end
-- Expired leases back to ready (or dead), due retries to ready.
local function reap(pool, typ, t, max)
  local moved, woke = 0, 0
  local lk = qk(pool, typ, 'leased')
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', lk, '-inf', num(t), 'LIMIT', 0, max)) do
    redis.call('ZREM', lk, id)
    local r = task_get(tk(id), 'st', 'att', 'maxa', 'prio', 'seq', 'wk', 'cxl',
      'run', 'step', 'idx')
    if r[1] == 'leased' then
      local att, maxa = tonumber(r[2]) or 0, tonumber(r[3]) or 0
      if r[7] == '1' then
        redis.call('HSET', tk(id), 'st', 'cancelled', 'fin', num(now_us()))
        event('cancelled', id, r[8], r[9], r[10], r[2])
      elseif att >= maxa then
        to_dead(id, pool, typ, 'lease expired on attempt '..att..' of '..maxa..
          ' (worker '..(r[6] or '?')..' stopped heartbeating)', t)
      else
        redis.call('HSET', tk(id), 'err', 'lease expired (worker '..(r[6] or '?')..')')
        make_ready(id, pool, typ, t, r[4], r[5])
        event('retry', id, r[8], r[9], r[10], r[2])
        woke = woke + 1
      end
      moved = moved + 1
    end
  end
  local dk = qk(pool, typ, 'delayed')
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', dk, '-inf', num(t), 'LIMIT', 0, max)) do
    redis.call('ZREM', dk, id)
    local r = task_get(tk(id), 'st', 'prio', 'seq')
    if r[1] == 'delayed' then
      make_ready(id, pool, typ, t, r[2], r[3])
      moved, woke = moved + 1, woke + 1
    end
  end
  if woke > 0 then wake(pool, typ, woke) end
  return moved
end
