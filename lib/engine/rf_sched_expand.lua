-- rf_sched_expand.lua: fix the tasks of a foreach over an earlier step's
-- output, once that step has finished (rf_sched_fanout.c).
-- ARGV: P, run, step, items (JSON list of strings), n, dependents...
-- Once per step: a second call (another scheduler) changes nothing.
-- Zero items finish the step at once, as Argo's withParam over [] does.
-- Returns 1 when this call fixed the items, 0 if they were already, -1
-- for an unknown run.
-- @include rf_sched_prelude.lua
-- @include rf_sched_stepdone.lua
local P, R, s, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5])
local run = P .. 'run:' .. R
local state = redis.call('HGET', run, 'state')
if not state then return -1 end
if redis.call('HSETNX', run .. ':items', s, ARGV[4]) == 0 then return 0 end
local steps = run .. ':steps'
redis.call('HSET', steps, 't.' .. s, n, 'n.' .. s, n, 'p.' .. s, 0)
redis.call('HINCRBY', run, 'tasks', n)
if n == 0 then
  local deps = {}
  for i = 6, #ARGV do deps[#deps + 1] = ARGV[i] end
  step_done(P, R, run, state, deps, s)
end
return 1
