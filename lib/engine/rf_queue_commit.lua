-- rf_queue_commit.lua: fenced commit of results (rf_queue_commit).
-- ARGV: prefix, retention_s, then id, token, outputs, metrics.
-- @include rf_queue_prelude.lua
local ret, t, out = tonumber(ARGV[2]), now(), {}
local fin, gone = num(now_us()), {}   -- gone: leased set -> ids, one ZREM each
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  local k = tk(id)
  local r = redis.call('HMGET', k, 'st', 'tok', 'pool', 'type', 'run', 'step', 'idx', 'att')
  if r[2] == ARGV[i + 1] and r[1] == 'done' then
    out[#out + 1] = 0
  elseif r[1] ~= 'leased' or r[2] ~= ARGV[i + 1] then
    out[#out + 1] = 1
  else
    redis.call('HSET', k, 'st', 'done', 'out', ARGV[i + 2], 'met', ARGV[i + 3], 'fin', fin)
    local lk = qk(r[3], r[4], 'leased')
    if not gone[lk] then gone[lk] = {} end
    table.insert(gone[lk], id)
    event('done', id, r[5], r[6], r[7], r[8])
    if ret > 0 then redis.call('EXPIRE', k, ret) end
    out[#out + 1] = 0
  end
end
for lk, ids in pairs(gone) do multi('ZREM', lk, ids) end
return out
