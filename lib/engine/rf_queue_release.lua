-- rf_queue_release.lua: give leases back, no attempt charged.
-- ARGV: prefix, then id, token pairs.
-- @include rf_queue_prelude.lua
local t, out = now(), {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local k = tk(id)
  local r = task_get(k, 'st', 'tok', 'pool', 'type', 'prio', 'seq')
  if r[1] ~= 'leased' or r[2] ~= ARGV[i + 1] then
    out[#out + 1] = 1
  else
    redis.call('ZREM', qk(r[3], r[4], 'leased'), id)
    redis.call('HINCRBY', k, 'att', -1)
    make_ready(id, r[3], r[4], t, r[5], r[6])
    wake(r[3], r[4], 1)
    out[#out + 1] = 0
  end
end
return out
