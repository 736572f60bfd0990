-- rf_queue_reap.lua: expired leases and due retries, every queue.
-- ARGV: prefix, max per queue.
-- @include rf_queue_prelude.lua
local t, moved = now(), 0
for _, q in ipairs(redis.call('SMEMBERS', P..'queues')) do
  local s = string.find(q, '/', 1, true)
  moved = moved + reap(string.sub(q, 1, s - 1), string.sub(q, s + 1), t, tonumber(ARGV[2]))
end
return moved
