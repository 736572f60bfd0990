-- rf_queue_worker_beat.lua: refresh a worker's registry record.
-- ARGV: prefix, id, ttl_ms, then field, value pairs.
-- @include rf_queue_prelude.lua
local t = now()
local k = P..'w:'..ARGV[2]
local kv = {}
for i = 4, #ARGV do kv[#kv + 1] = ARGV[i] end
redis.call('HSET', k, 'seen', num(t), unpack(kv))
redis.call('PEXPIRE', k, ARGV[3])
redis.call('ZADD', P..'workers', num(t), ARGV[2])
return 0
