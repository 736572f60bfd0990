-- rf_sched_spawn.lua: a task grows its step (metric "spawn").
-- ARGV: P, run, step, idx, k, max. A task asks for k more tasks in its
-- step; once per task, within the step's budget. Returns tasks added.
local P, R, s, idx, k, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  tonumber(ARGV[5]), tonumber(ARGV[6])
local run = P .. 'run:' .. R
if not redis.call('HGET', run, 'state') then return 0 end
if redis.call('HSETNX', run .. ':spawned', s .. '/' .. idx, k) == 0 then return 0 end
local steps = run .. ':steps'
local total = tonumber(redis.call('HGET', steps, 't.' .. s))
local base = tonumber(redis.call('HGET', steps, 'n.' .. s))
k = math.min(k, max - (total - base))
if k <= 0 then return 0 end
redis.call('HINCRBY', steps, 't.' .. s, k)
redis.call('HINCRBY', run, 'tasks', k)
redis.call('HINCRBY', run .. ':todo', s, 1)
return k
