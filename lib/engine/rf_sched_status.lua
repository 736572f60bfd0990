-- rf_sched_status.lua: per-step counters for rf_sched_status.
-- ARGV: P, run, then step names in plan order. Per step 13 numbers: total,
-- finished, failed, done, cached, skipped, waiting-needs, then unfinished
-- tasks by record state: leased, ready, delayed, dead, none, other.
local P, R = ARGV[1], ARGV[2]
local run = P .. 'run:' .. R
local steps = run .. ':steps'
local out = {}
for i = 0, #ARGV - 3 do
  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'x.' .. i, 'd.' .. i,
    'c.' .. i, 'k.' .. i, 'w.' .. i)
  for j = 1, 7 do out[#out + 1] = tonumber(v[j]) or 0 end
  local c = {leased = 0, ready = 0, delayed = 0, dead = 0, none = 0, other = 0}
  local total, fin = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if fin < total and (tonumber(v[7]) or 0) == 0 and total <= 200000 then
    local bits = run .. ':fin:' .. i
    for idx = 0, total - 1 do
      if redis.call('GETBIT', bits, idx) == 0 then
        local st = redis.call('HGET', P .. 't:' .. R .. '/' .. ARGV[3 + i] .. '/' .. idx, 'st')
        if not st then st = 'none' elseif c[st] == nil then st = 'other' end
        c[st] = c[st] + 1
      end
    end
  end
  for _, k in ipairs({'leased', 'ready', 'delayed', 'dead', 'none', 'other'}) do
    out[#out + 1] = c[k]
  end
end
return out
