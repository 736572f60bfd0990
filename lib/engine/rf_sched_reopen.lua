-- rf_sched_reopen.lua: retry, resume or re-sync a run.
-- ARGV: P, run, mode (retry | resume | sync). Puts the run back to running
-- (except sync), forgets failures (retry), and re-derives todo: every step
-- whose needs are met and that has unfinished tasks. Returns {state before,
-- failed task keys "STEP/IDX"...}. on_exit steps start over (retry, resume):
-- they run again once the main steps are over (their task records are
-- forgotten by the caller first).
-- @include rf_sched_prelude.lua
-- @include rf_sched_stepdone.lua
local P, R, mode = ARGV[1], ARGV[2], ARGV[3]
local run = P .. 'run:' .. R
local st = redis.call('HGET', run, 'state')
if not st then return {''} end
local out = {st}
if mode == 'sync' and st ~= 'running' then return out end
if mode == 'retry' then
  if st ~= 'failed' then return out end
  local res = redis.call('HGETALL', run .. ':res')
  for i = 1, #res, 2 do
    if string.find(res[i + 1], '"h":"fail"', 1, true) then
      redis.call('HDEL', run .. ':res', res[i])
      out[#out + 1] = res[i]
    end
  end
elseif mode == 'resume' and st == 'succeeded' then
  return out
end
local steps = run .. ':steps'
local n = tonumber(redis.call('HGET', run, 'nsteps'))
local xn = 0
if mode ~= 'sync' then
  redis.call('HDEL', run, 'main', 'exit_error')
  for i = 0, n - 1 do
    if redis.call('HGET', steps, 'e.' .. i) == '1' then
      xn = xn + 1
      local v = redis.call('HMGET', steps, 'n.' .. i, 'o.' .. i)
      redis.call('HSET', steps, 't.' .. i, v[1], 'w.' .. i, v[2], 'f.' .. i, 0,
        'd.' .. i, 0, 'c.' .. i, 0, 'k.' .. i, 0, 'x.' .. i, 0)
      redis.call('DEL', run .. ':fin:' .. i)
    end
  end
  for _, k in ipairs(redis.call('HKEYS', run .. ':res')) do
    local si = string.match(k, '^(%d+)/')
    if si and redis.call('HGET', steps, 'e.' .. si) == '1' then
      redis.call('HDEL', run .. ':res', k)
    end
  end
  if xn > 0 then redis.call('HSET', run, 'xleft', xn) end
end
local exiting = redis.call('HGET', run, 'main')
for i = 0, n - 1 do
  if mode == 'retry' then redis.call('HSET', steps, 'x.' .. i, 0) end
  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'w.' .. i, 'x.' .. i,
    'p.' .. i, 'e.' .. i)
  if (v[6] ~= '1' or exiting) and tonumber(v[3]) == 0 and
     (tonumber(v[2]) < tonumber(v[1]) or v[5] == '1') then
    redis.call('HINCRBY', run .. ':todo', i, 1)
  end
end
if mode ~= 'sync' and tonumber(redis.call('HGET', run, 'left')) == 0 and xn == 0 then
  redis.call('HSET', run, 'state', 'succeeded', 'error', '')
  redis.call('SREM', P .. 'runs:active', R)
elseif mode ~= 'sync' then
  redis.call('HSET', run, 'state', 'running', 'finished', 0, 'error', '')
  if mode == 'retry' then redis.call('HSET', run, 'failed', 0) end
  redis.call('SADD', P .. 'runs:active', R)
  if tonumber(redis.call('HGET', run, 'left')) == 0 then
    main_over(P, R, run, 'succeeded', nil)   -- only the exit steps are left
  end
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',
    'run', R)
end
return out
