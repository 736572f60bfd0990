-- rf_queue_cancel.lua: cancel tasks by id (rf_queue_cancel).
-- ARGV: prefix, ids...
-- @include rf_queue_prelude.lua
local t = now()
for i = 2, #ARGV do
  local id = ARGV[i]
  local k = tk(id)
  local r = redis.call('HMGET', k, 'st', 'pool', 'type', 'run', 'step', 'idx', 'att')
  if r[1] == 'ready' or r[1] == 'delayed' then
    redis.call('ZREM', qk(r[2], r[3], r[1]), id)
    redis.call('HSET', k, 'st', 'cancelled', 'fin', num(now_us()))
    event('cancelled', id, r[4], r[5], r[6], r[7])
  elseif r[1] == 'leased' then
    redis.call('HSET', k, 'cxl', '1')
  end
end
return 0
