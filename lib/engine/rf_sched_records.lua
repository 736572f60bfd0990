-- rf_sched_records.lua: task records behind done/dead events.
-- Record state of the tasks of done/dead events, in one script call.
local out = {}
for i = 2, #ARGV do
  local r = redis.call('HMGET', ARGV[1] .. 't:' .. ARGV[i], 'st', 'type', 'params',
    'inputs', 'out', 'met', 'err')
  for j = 1, 7 do out[#out + 1] = r[j] or '' end
end
return out
