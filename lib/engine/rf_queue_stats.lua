-- rf_queue_stats.lua: counts per queue (rf_queue_stats).
-- ARGV: prefix. Flat rows: pool, type, ready, delayed, leased, dead.
-- @include rf_queue_prelude.lua
local out = {}
local qs = redis.call('SMEMBERS', P..'queues')
table.sort(qs)
for _, q in ipairs(qs) do
  local s = string.find(q, '/', 1, true)
  local pool, typ = string.sub(q, 1, s - 1), string.sub(q, s + 1)
  out[#out + 1] = pool
  out[#out + 1] = typ
  for _, w in ipairs({'ready', 'delayed', 'leased', 'dead'}) do
    out[#out + 1] = redis.call('ZCARD', qk(pool, typ, w))
  end
end
return out
