-- rf_sched_trim.lua: delete a run's keys (retention, `ruvflow delete`).
-- ARGV: P, run, step names... The run leaves its workflow's index too.
local P, R = ARGV[1], ARGV[2]
local run = P .. 'run:' .. R
local name = redis.call('HGET', run, 'name')
if name then redis.call('ZREM', P .. 'wfruns:' .. name, R) end
for i = 0, #ARGV - 3 do redis.call('DEL', run .. ':fin:' .. i) end
redis.call('DEL', run, run .. ':plan', run .. ':steps', run .. ':res',
  run .. ':todo', run .. ':spawned', run .. ':items', run .. ':approve', run .. ':lock', run .. ':log',
  run .. ':progress')
redis.call('ZREM', P .. 'runs', R)
redis.call('SREM', P .. 'runs:active', R)
return 0
