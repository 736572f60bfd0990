-- rf_sched_lock.lua: a run's dispatch lease: take, renew or release.
-- KEYS: lock. ARGV: owner, ms (0 = release).
local v = redis.call('GET', KEYS[1])
if tonumber(ARGV[2]) == 0 then
  if v == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 1
end
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
