-- rf_poolstat.lua: the figures behind `ruvflow queues` and /metrics, from
-- O(1) reads per queue (ZCARD, the head of the ready set) and one HGET per
-- live worker; nothing is scanned.
-- ARGV: prefix. Returns {queue rows..., '--', worker pool names...}; a
-- queue row is pool, type, ready, delayed, leased, dead, head age (ms, -1
-- when nothing is ready).
local P = ARGV[1]
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
local qs = redis.call('SMEMBERS', P .. 'queues')
table.sort(qs)
for _, q in ipairs(qs) do
  local s = string.find(q, '/', 1, true)
  local pool, typ = string.sub(q, 1, s - 1), string.sub(q, s + 1)
  local base = P .. 'q:' .. pool .. ':' .. typ .. ':'
  out[#out + 1] = pool
  out[#out + 1] = typ
  for _, w in ipairs({'ready', 'delayed', 'leased', 'dead'}) do
    out[#out + 1] = redis.call('ZCARD', base .. w)
  end
  local head = redis.call('ZRANGE', base .. 'ready', 0, 0)
  local age = -1
  if head[1] then
    local enq = tonumber(redis.call('HGET', P .. 't:' .. head[1], 'enq'))
    if enq then age = math.max(0, math.floor((now_us - enq) / 1000)) end
  end
  out[#out + 1] = age
end
out[#out + 1] = '--'
for _, id in ipairs(redis.call('ZRANGE', P .. 'workers', 0, -1)) do
  local pool = redis.call('HGET', P .. 'w:' .. id, 'pool')
  if pool then out[#out + 1] = pool end
end
return out
