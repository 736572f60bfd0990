-- rf_sched_stepdone.lua: a step has finished all its tasks: release the
-- steps that need it and finish the run when it was the last one. Shared
-- by run finish and run expand (@include it after rf_sched_prelude.lua).
local function step_done(P, R, run, state, deps)
  local steps = run .. ':steps'
  for _, d in ipairs(deps) do
    if redis.call('HINCRBY', steps, 'w.' .. d, -1) == 0 then
      redis.call('HINCRBY', run .. ':todo', d, 1)
    end
  end
  if redis.call('HINCRBY', run, 'left', -1) == 0 and state == 'running' then
    redis.call('HSET', run, 'state', 'succeeded', 'finished', now())
    redis.call('SREM', P .. 'runs:active', R)
  end
end
