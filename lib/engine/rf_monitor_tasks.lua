-- rf_monitor_tasks.lua: what the metrics tailer needs of each task named by
-- an event: its queue, its run time and whether a lost lease caused it.
-- ARGV: prefix, task ids... Returns per id: pool, type, start (us), fin
-- (us), 1 when its last error was an expired lease else 0 ('' fields for a
-- record gone meanwhile).
local P = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local r = redis.call('HMGET', P .. 't:' .. ARGV[i], 'pool', 'type', 'start', 'fin', 'err')
  out[#out + 1] = r[1] or ''
  out[#out + 1] = r[2] or ''
  out[#out + 1] = r[3] or ''
  out[#out + 1] = r[4] or ''
  out[#out + 1] = (r[5] and string.sub(r[5], 1, 13) == 'lease expired') and '1' or '0'
end
return out
