-- rf_queue_enqueue.lua: add tasks, idempotent by id (rf_queue_enqueue).
-- ARGV: prefix, n, then 15 fields per task (see rf_queue_enqueue).
-- The fields a step's tasks share (prio, maxa, bo, bomax, jit, tier) go
-- to the policy hash once (rf_queue_prelude.lua); the record keeps the
-- others, so it stays a small listpack and HSET has fewer fields to place.
-- @include rf_queue_prelude.lua
local n, t, added, woke = tonumber(ARGV[2]), now(), 0, {}
-- One INCRBY reserves the batch's FIFO numbers; gaps are harmless.
local seq0 = redis.call('INCRBY', P..'seq', n) - n
local us = num(now_us())
local pk = P..'pol'
local function policy_id(s)
  local id = redis.call('HGET', pk, '='..s)
  if not id then
    id = num(redis.call('HINCRBY', pk, 'n', 1))
    redis.call('HSET', pk, id, s, '='..s, id)
  end
  return id
end
-- Ready-set entries per queue, added with one ZADD per queue and chunk.
local zadds = {}
local function flush()
  for q, z in pairs(zadds) do
    if #z > 0 then redis.call('ZADD', q, unpack(z)) end
  end
  zadds = {}
end
-- Fresh ids are the rule: one EXISTS over the whole batch, and a check
-- per task only when some already exist (a scheduler dispatching again).
local keys = {}
for i = 0, n - 1 do keys[i + 1] = tk(ARGV[3 + i * 15]) end
local some, seen = 0, {}
for i = 1, n, 256 do
  some = some + redis.call('EXISTS', unpack(keys, i, math.min(n, i + 255)))
end
-- A task whose policy fields are those of the task before reuses its ID
-- (Lua compares equal strings by pointer).
local pa, last_id, POLA = nil, nil, {6, 9, 11, 12, 13, 14}
local function same_policy(a)
  if not pa then return false end
  for _, o in ipairs(POLA) do
    if ARGV[a + o] ~= ARGV[pa + o] then return false end
  end
  return true
end
for i = 0, n - 1 do
  local a = 3 + i * 15
  local id, pool, typ, prio = ARGV[a], ARGV[a + 5], ARGV[a + 4], ARGV[a + 6]
  local k = keys[i + 1]
  local fresh
  if some == 0 then   -- none existed: only a repeat within the batch is not new
    fresh = not seen[k]
    seen[k] = true
  else
    fresh = redis.call('EXISTS', k) == 0
  end
  if fresh then
    local seq = seq0 + i + 1
    if not same_policy(a) then
      last_id = policy_id(prio..' '..ARGV[a + 11]..' '..ARGV[a + 12]..' '..ARGV[a + 13]..
        ' '..ARGV[a + 14]..' '..ARGV[a + 9])
    end
    pa = a
    redis.call('HSET', k, 'run', ARGV[a + 1], 'step', ARGV[a + 2], 'idx', ARGV[a + 3],
      'type', typ, 'pool', pool, 'pol', last_id, 'params', ARGV[a + 7],
      'inputs', ARGV[a + 8], 'tmo', ARGV[a + 10],
      'st', 'ready', 'att', '0', 'tok', '0', 'seq', seq, 'enq', us)
    local q = qk(pool, typ, 'ready')
    local z = zadds[q]
    if not z then z = {}; zadds[q] = z end
    z[#z + 1] = score(prio, seq)
    z[#z + 1] = id
    if #z >= 512 then flush() end
    local qn = pool..'/'..typ
    if not woke[qn] then
      woke[qn] = 0
      redis.call('SADD', P..'queues', qn)
    end
    woke[qn] = woke[qn] + 1
    added = added + 1
  end
end
flush()
for q, c in pairs(woke) do
  local s = string.find(q, '/', 1, true)
  wake(string.sub(q, 1, s - 1), string.sub(q, s + 1), c)
end
return added
