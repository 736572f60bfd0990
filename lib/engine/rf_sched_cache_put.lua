-- rf_sched_cache_put.lua: store memoized results under their cache keys.
-- ARGV: P, ms, then key/value pairs: cache entries with a time to live.
for i = 3, #ARGV, 2 do
  redis.call('SET', ARGV[1] .. 'cache:' .. ARGV[i], ARGV[i + 1], 'PX', ARGV[2])
end
return 0
