-- rf_sched_cron_fire.lua: claim one tick of a schedule (ruvflow cron).
-- ARGV: P, id, expected next fire time (ms, as read), new next fire time.
-- A compare-and-set: only the scheduler that still sees the time it read
-- moves it on, and it alone submits the run, so a tick fires once however
-- many schedulers look at it. Returns 1 when this call claimed the tick.
local P, id = ARGV[1], ARGV[2]
local cur = redis.call('ZSCORE', P .. 'cron:next', id)
if not cur or tonumber(cur) ~= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', P .. 'cron:next', ARGV[4], id)
return 1
