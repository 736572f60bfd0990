-- rf_queue_workers.lua: list live workers (rf_queue_workers).
-- ARGV: prefix. Drops ids whose record expired; flat rows of 8.
-- @include rf_queue_prelude.lua
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P..'workers', 0, -1)) do
  local r = redis.call('HMGET', P..'w:'..id, 'host', 'pid', 'pool', 'types', 'cur',
    'started', 'seen')
  if not r[7] then
    redis.call('ZREM', P..'workers', id)
  else
    out[#out + 1] = id
    for j = 1, 7 do out[#out + 1] = r[j] or '' end
  end
end
return out
