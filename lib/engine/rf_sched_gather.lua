-- rf_sched_gather.lua: results of a range of a step's tasks.
-- ARGV: P, run, step index, step name, from, to. Per task: {"r", result
-- JSON} (not run on a worker), {"d", out, met} (committed), or {""}.
local P, R, s, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local run = P .. 'run:' .. R
local out = {}
for i = tonumber(ARGV[5]), tonumber(ARGV[6]) - 1 do
  local r = redis.call('HGET', run .. ':res', s .. '/' .. i)
  if r then
    out[#out + 1] = 'r'; out[#out + 1] = r; out[#out + 1] = ''
  else
    local t = redis.call('HMGET', P .. 't:' .. R .. '/' .. name .. '/' .. i,
      'st', 'out', 'met')
    if t[1] == 'done' then
      out[#out + 1] = 'd'; out[#out + 1] = t[2] or '{}'; out[#out + 1] = t[3] or '{}'
    else
      out[#out + 1] = ''; out[#out + 1] = ''; out[#out + 1] = ''
    end
  end
end
return out
