-- rf_queue_forget.lua: delete task records (rf_queue_forget).
-- ARGV: prefix, ids...
-- @include rf_queue_prelude.lua
for i = 2, #ARGV do
  local id = ARGV[i]
  local r = redis.call('HMGET', tk(id), 'pool', 'type')
  if r[1] and r[2] then
    for _, w in ipairs({'ready', 'delayed', 'leased', 'dead'}) do
      redis.call('ZREM', qk(r[1], r[2], w), id)
    end
  end
  redis.call('DEL', tk(id), P..'live:'..id)
end
return 0
