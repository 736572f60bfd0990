-- rf_sched_todo_done.lua: drop a dispatched step from todo.
-- ARGV: P, run, step, seen. Drop the todo entry unless re-released since.
local k = ARGV[1] .. 'run:' .. ARGV[2] .. ':todo'
if redis.call('HGET', k, ARGV[3]) == ARGV[4] then redis.call('HDEL', k, ARGV[3]) end
return 0
