-- rf_sched_stepdone.lua: how a run ends, shared by the run scripts
-- (@include it after rf_sched_prelude.lua).
--
-- The main steps are over when the last one finished (succeeded), a task
-- failed for good (failed) or the run was cancelled. Without on_exit steps
-- the run ends there. With them, the run stays running, remembers how its
-- main steps ended in the field `main`, and its exit steps with no needs go
-- to todo; it ends when they are over, as its main steps did, except that a
-- failed exit step fails a run whose main steps succeeded (Argo's rule).
local function main_over(P, R, run, status, why)
  if tonumber(redis.call('HGET', run, 'xleft') or '0') == 0 then
    redis.call('HSET', run, 'state', status, 'finished', now())
    if why then redis.call('HSET', run, 'error', why) end
    redis.call('SREM', P .. 'runs:active', R)
    return
  end
  if redis.call('HSETNX', run, 'main', status) == 0 then return end
  if why then redis.call('HSET', run, 'error', why) end
  local steps = run .. ':steps'
  for i = 0, tonumber(redis.call('HGET', run, 'nsteps')) - 1 do
    local v = redis.call('HMGET', steps, 'e.' .. i, 'w.' .. i)
    if v[1] == '1' and tonumber(v[2]) == 0 then
      redis.call('HINCRBY', run .. ':todo', i, 1)
    end
  end
end

local function exit_over(P, R, run, why)
  local main = redis.call('HGET', run, 'main') or 'succeeded'
  local st = main
  if why then
    redis.call('HSET', run, 'exit_error', why)
    if main == 'succeeded' then
      st = 'failed'
      redis.call('HSET', run, 'error', why)
    end
  end
  redis.call('HSET', run, 'state', st, 'finished', now())
  redis.call('SREM', P .. 'runs:active', R)
end

-- Step s has finished all its tasks: release the steps that need it, and
-- end the main steps (or the exit steps) when it was the last one.
local function step_done(P, R, run, state, deps, s)
  local steps = run .. ':steps'
  for _, d in ipairs(deps) do
    if redis.call('HINCRBY', steps, 'w.' .. d, -1) == 0 then
      redis.call('HINCRBY', run .. ':todo', d, 1)
    end
  end
  if redis.call('HGET', steps, 'e.' .. s) == '1' then
    if redis.call('HINCRBY', run, 'xleft', -1) == 0 and state == 'running' then
      exit_over(P, R, run, nil)
    end
  elseif redis.call('HINCRBY', run, 'left', -1) == 0 and state == 'running' then
    main_over(P, R, run, 'succeeded', nil)
  end
end
