-- rf_queue_dlq_act.lua: requeue or drop dead letters.
-- ARGV: prefix, mode ("requeue" | "drop"), ids... Returns how many were dead.
-- @include rf_queue_prelude.lua
local t, done = now(), 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local k = tk(id)
  local r = task_get(k, 'st', 'pool', 'type', 'prio', 'seq')
  if r[1] == 'dead' and r[2] and r[3] then
    redis.call('ZREM', qk(r[2], r[3], 'dead'), id)
    if ARGV[2] == 'drop' then
      redis.call('DEL', k, P..'live:'..id)
    else
      redis.call('HSET', k, 'att', '0', 'err', '', 'fin', '0')
      make_ready(id, r[2], r[3], t, r[4], r[5])
      wake(r[2], r[3], 1)
    end
    done = done + 1
  end
end
return done
