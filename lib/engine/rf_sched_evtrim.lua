-- rf_sched_evtrim.lua: drop the events every consumer group has handled.
-- ARGV: P. Without it the stream keeps every event up to its MAXLEN (about
-- a million, 100+ MB), whatever retention says. Kept: entries pending in a
-- group (delivered, not acknowledged: a crashed scheduler's, to be claimed)
-- and entries not yet delivered; without a group nothing is trimmed.
-- Returns the number of entries removed.
local k = ARGV[1] .. 'events'
if redis.call('EXISTS', k) == 0 then return 0 end
local function before(a, b)   -- stream ids "ms-seq", compared as numbers
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local min
for _, g in ipairs(redis.call('XINFO', 'GROUPS', k)) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local id = f['last-delivered-id']
  if tonumber(f['pending']) > 0 then
    id = redis.call('XPENDING', k, f['name'])[2]
  end
  if min == nil or before(id, min) then min = id end
end
if min == nil then return 0 end
return redis.call('XTRIM', k, 'MINID', min)
