-- rf_queue_worker_beat.lua: refresh a worker's registry record.
-- ARGV: prefix, id, ttl_ms, then field, value pairs.
-- Also drops ids not seen for two ttls (their records expired): a killed
-- worker's id would otherwise stay in the index until someone listed the
-- workers, one entry per restart (the chaos harness's memory check).
-- @include rf_queue_prelude.lua
local t = now()
redis.call('ZREMRANGEBYSCORE', P..'workers', '-inf', '(' .. num(t - 2 * tonumber(ARGV[3])))
local k = P..'w:'..ARGV[2]
local kv = {}
for i = 4, #ARGV do kv[#kv + 1] = ARGV[i] end
redis.call('HSET', k, 'seen', num(t), unpack(kv))
redis.call('PEXPIRE', k, ARGV[3])
redis.call('ZADD', P..'workers', num(t), ARGV[2])
return 0
