-- rf_sched_finish.lua: finish tasks, releasing dependents and chain links.
-- ARGV: P, then per task: run, step, idx, kind (done|cache|skip|fail|approve:
-- a suspend step's approval, counted as done, its result kept in res),
-- result JSON, chain (0|1), error text, number of dependents, dependents...
-- Idempotent: a task finishes once (its bit in the step's bitmap). Returns
-- the number of tasks whose finishing released a step or a chain link.
-- @include rf_sched_prelude.lua
-- @include rf_sched_stepdone.lua
local P, i, released = ARGV[1], 2, 0
local function finish(R, s, idx, kind, res, chain, why, deps)
  local run = P .. 'run:' .. R
  local state = redis.call('HGET', run, 'state')
  if not state then return 0 end
  local steps, key = run .. ':steps', s .. '/' .. idx
  if redis.call('GETBIT', run .. ':fin:' .. s, idx) == 1 then return 0 end
  if kind == 'fail' then
    if redis.call('HSETNX', run .. ':res', key, res) == 0 then return 0 end
    redis.call('HINCRBY', steps, 'x.' .. s, 1)
    redis.call('HINCRBY', run, 'failed', 1)
    if state == 'running' and redis.call('HGET', steps, 'e.' .. s) == '1' then
      exit_over(P, R, run, why)
    elseif state == 'running' then
      main_over(P, R, run, 'failed', why)
    end
    return 0
  end
  redis.call('SETBIT', run .. ':fin:' .. s, idx, 1)
  if kind ~= 'done' then redis.call('HSET', run .. ':res', key, res) end
  if kind == 'approve' then kind = 'done' end
  local short = ({done = 'd', cache = 'c', skip = 'k'})[kind]
  redis.call('HINCRBY', run, kind, 1)
  redis.call('HINCRBY', steps, short .. '.' .. s, 1)
  local fin = redis.call('HINCRBY', steps, 'f.' .. s, 1)
  local total = tonumber(redis.call('HGET', steps, 't.' .. s))
  if fin >= total then
    step_done(P, R, run, state, deps, s)
    return #deps > 0 and 1 or 0
  elseif chain == '1' then
    redis.call('HINCRBY', run .. ':todo', s, 1)
    return 1
  end
  return 0
end
while i <= #ARGV do
  local nd = tonumber(ARGV[i + 7])
  local deps = {}
  for k = 1, nd do deps[k] = ARGV[i + 7 + k] end
  released = released + finish(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]),
    ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], deps)
  i = i + 8 + nd
end
return released
