-- rf_queue_dlq_list.lua: list dead letters (rf_queue_dlq_list).
-- ARGV: prefix, pool or '', type or '', limit. Flat rows of 8 strings.
-- @include rf_queue_prelude.lua
local out, limit = {}, tonumber(ARGV[4])
local qs = redis.call('SMEMBERS', P..'queues')
table.sort(qs)
for _, q in ipairs(qs) do
  local s = string.find(q, '/', 1, true)
  local pool, typ = string.sub(q, 1, s - 1), string.sub(q, s + 1)
  if (ARGV[2] == '' or ARGV[2] == pool) and (ARGV[3] == '' or ARGV[3] == typ) then
    local d = redis.call('ZRANGE', qk(pool, typ, 'dead'), 0, limit - 1, 'WITHSCORES')
    for j = 1, #d, 2 do
      if #out >= limit * 8 then return out end
      local r = redis.call('HMGET', tk(d[j]), 'run', 'step', 'err', 'att')
      for _, v in ipairs({d[j], pool, typ, r[1] or '', r[2] or '', r[3] or '',
                           r[4] or '0', d[j + 1]}) do out[#out + 1] = v end
    end
  end
end
return out
