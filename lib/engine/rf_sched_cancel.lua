-- rf_sched_cancel.lua: mark a run cancelled (rf_sched_cancel).
-- ARGV: P, run. A finished run cannot be cancelled. A run with on_exit
-- steps whose main steps are not over yet runs its exit steps first
-- (returns 2: cancel the main steps' tasks only); cancelling it again, or
-- a run without exit steps, ends it at once (returns 1). -1: no such run.
-- @include rf_sched_prelude.lua
-- @include rf_sched_stepdone.lua
local run = ARGV[1] .. 'run:' .. ARGV[2]
local st = redis.call('HGET', run, 'state')
if not st then return -1 end
if st == 'succeeded' or st == 'cancelled' then return 0 end
redis.call('DEL', run .. ':todo')
if st == 'running' and tonumber(redis.call('HGET', run, 'xleft') or '0') > 0 and
   not redis.call('HGET', run, 'main') then
  main_over(ARGV[1], ARGV[2], run, 'cancelled', nil)
  return 2
end
redis.call('HSET', run, 'state', 'cancelled', 'finished', now())
redis.call('SREM', ARGV[1] .. 'runs:active', ARGV[2])
return 1
