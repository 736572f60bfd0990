-- rf_sched_submit.lua: store a new run (rf_sched_submit).
-- ARGV: P, run, name, file, plan, nocache, ntasks, nsteps, then per step
-- (total, needs, flags). Roots go to todo; a scheduler is woken by an event.
-- Flags: "p" the step's tasks are fixed later (foreach over an output), "e"
-- an on_exit step: not counted in `left` (but in `xleft`), and not a root
-- until the main steps are over (rf_sched_stepdone.lua).
-- @include rf_sched_prelude.lua
local P, R = ARGV[1], ARGV[2]
local run = P .. 'run:' .. R
if redis.call('EXISTS', run) == 1 then return 0 end
local t, nsteps = now(), tonumber(ARGV[8])
redis.call('HSET', run, 'name', ARGV[3], 'file', ARGV[4], 'state', 'running',
  'created', t, 'finished', 0, 'nocache', ARGV[6], 'tasks', ARGV[7],
  'nsteps', nsteps, 'left', nsteps, 'done', 0, 'cache', 0, 'skip', 0,
  'failed', 0, 'error', '')
redis.call('SET', run .. ':plan', ARGV[5])
for i = 0, nsteps - 1 do
  local total, needs, flags = ARGV[9 + 3 * i], tonumber(ARGV[10 + 3 * i]),
    ARGV[11 + 3 * i]
  redis.call('HSET', run .. ':steps', 't.' .. i, total, 'n.' .. i, total,
    'w.' .. i, needs, 'f.' .. i, 0, 'x.' .. i, 0, 'd.' .. i, 0, 'c.' .. i, 0,
    'k.' .. i, 0, 'p.' .. i, string.find(flags, 'p', 1, true) and 1 or 0,
    'o.' .. i, needs)
  if string.find(flags, 'e', 1, true) then
    redis.call('HSET', run .. ':steps', 'e.' .. i, 1)
    redis.call('HINCRBY', run, 'xleft', 1)
    redis.call('HINCRBY', run, 'left', -1)
  elseif needs == 0 then
    redis.call('HINCRBY', run .. ':todo', i, 1)
  end
end
redis.call('ZADD', P .. 'runs', t, R)
redis.call('ZADD', P .. 'wfruns:' .. ARGV[3], t, R)   -- per-workflow retention
redis.call('SADD', P .. 'runs:active', R)
redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',
  'run', R)
return 1
