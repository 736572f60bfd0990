-- rf_queue_enqueue.lua: add tasks, idempotent by id (rf_queue_enqueue).
-- ARGV: prefix, n, then 15 fields per task (see rf_queue_enqueue).
-- @include rf_queue_prelude.lua
local n, t, added, woke = tonumber(ARGV[2]), now(), 0, {}
-- One INCRBY reserves the batch's FIFO numbers; gaps are harmless.
local seq0 = redis.call('INCRBY', P..'seq', n) - n
local us = num(now_us())
for i = 0, n - 1 do
  local a = 3 + i * 15
  local id, pool, typ, prio = ARGV[a], ARGV[a + 5], ARGV[a + 4], ARGV[a + 6]
  local k = tk(id)
  if redis.call('EXISTS', k) == 0 then
    local seq = seq0 + i + 1
    redis.call('HSET', k, 'run', ARGV[a + 1], 'step', ARGV[a + 2], 'idx', ARGV[a + 3],
      'type', typ, 'pool', pool, 'prio', prio, 'params', ARGV[a + 7],
      'inputs', ARGV[a + 8], 'tier', ARGV[a + 9], 'tmo', ARGV[a + 10],
      'maxa', ARGV[a + 11], 'bo', ARGV[a + 12], 'bomax', ARGV[a + 13], 'jit', ARGV[a + 14],
      'st', 'ready', 'att', '0', 'tok', '0', 'seq', seq, 'enq', us)
    redis.call('ZADD', qk(pool, typ, 'ready'), score(prio, seq), id)
    local q = pool..'/'..typ
    if not woke[q] then
      woke[q] = 0
      redis.call('SADD', P..'queues', q)
    end
    woke[q] = woke[q] + 1
    added = added + 1
  end
end
for q, c in pairs(woke) do
  local s = string.find(q, '/', 1, true)
  wake(string.sub(q, 1, s - 1), string.sub(q, s + 1), c)
end
return added
