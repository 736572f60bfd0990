-- rf_sched_cancel.lua: mark a run cancelled (rf_sched_cancel).
-- ARGV: P, run. Cancel: a finished run cannot be cancelled.
-- @include rf_sched_prelude.lua
local run = ARGV[1] .. 'run:' .. ARGV[2]
local st = redis.call('HGET', run, 'state')
if not st then return -1 end
if st == 'succeeded' or st == 'cancelled' then return 0 end
redis.call('HSET', run, 'state', 'cancelled', 'finished', now())
redis.call('SREM', ARGV[1] .. 'runs:active', ARGV[2])
redis.call('DEL', run .. ':todo')
return 1
