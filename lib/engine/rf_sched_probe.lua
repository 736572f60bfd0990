-- rf_sched_probe.lua: the start of every dispatch round of a run, in one
-- call: take (or renew) its dispatch lease and read its state, `main` and
-- todo. ARGV: P, run, owner, lease ms.
-- Returns {0} when another scheduler holds the lease, else {1, state, main
-- ('' when unset), todo field, value, ...}. With nothing to dispatch (not
-- running, or an empty todo) the lease is not kept: released if ours.
local run = ARGV[1] .. 'run:' .. ARGV[2]
local lk = run .. ':lock'
local v = redis.call('GET', lk)
if v and v ~= ARGV[3] then return {0} end
local st = redis.call('HMGET', run, 'state', 'main')
local todo = {}
if st[1] == 'running' then todo = redis.call('HGETALL', run .. ':todo') end
if #todo == 0 then
  if v then redis.call('DEL', lk) end
  return {1, st[1] or '', st[2] or ''}
end
redis.call('SET', lk, ARGV[3], 'PX', ARGV[4])
local out = {1, st[1], st[2] or ''}
for k = 1, #todo do out[#out + 1] = todo[k] end
return out
