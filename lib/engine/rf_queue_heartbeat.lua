-- rf_queue_heartbeat.lua: extend leases, enforce timeouts.
-- ARGV: prefix, lease_ms, u in [0,1) (retry jitter), then id, token,
-- running triples. The first heartbeat that says running starts the
-- server's clock for the task's timeout ('run0'); past tmo + 2 leases
-- (the runtime's own timer fires at tmo) the task is failed here, so a
-- worker that keeps heartbeating a stuck handler cannot hold it forever.
-- @include rf_queue_prelude.lua
local lease, u, t, out = tonumber(ARGV[2]), tonumber(ARGV[3]), now(), {}
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local r = redis.call('HMGET', tk(id), 'st', 'tok', 'pool', 'type', 'cxl', 'tmo', 'run0')
  local tmo, run0 = tonumber(r[6]) or 0, tonumber(r[7]) or 0
  if r[1] ~= 'leased' or r[2] ~= ARGV[i + 1] then
    out[#out + 1] = 1
  elseif tmo > 0 and run0 > 0 and t - run0 > tmo + 2 * lease then
    fail_leased(id, 'timeout: still running after '..num(t - run0)..' ms, over its '..
      num(tmo)..' ms; the worker did not stop it (enforced by the queue)', true, u, t)
    out[#out + 1] = 1
  else
    if ARGV[i + 2] == '1' and run0 == 0 then redis.call('HSET', tk(id), 'run0', num(t)) end
    redis.call('ZADD', qk(r[3], r[4], 'leased'), num(t + lease), id)
    out[#out + 1] = (r[5] == '1') and 2 or 0
  end
end
return out
