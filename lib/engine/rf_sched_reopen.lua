-- rf_sched_reopen.lua: retry, resume or re-sync a run.
-- ARGV: P, run, mode (retry | resume | sync). Puts the run back to running
-- (except sync), forgets failures (retry), and re-derives todo: every step
-- whose needs are met and that has unfinished tasks. Returns {state before,
-- failed task keys "STEP/IDX"...}.
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
for i = 0, n - 1 do
  if mode == 'retry' then redis.call('HSET', steps, 'x.' .. i, 0) end
  local v = redis.call('HMGET', steps, 't.' .. i, 'f.' .. i, 'w.' .. i, 'x.' .. i,
    'p.' .. i)
  if tonumber(v[3]) == 0 and (tonumber(v[2]) < tonumber(v[1]) or v[5] == '1') then
    redis.call('HINCRBY', run .. ':todo', i, 1)
  end
end
if mode ~= 'sync' and tonumber(redis.call('HGET', run, 'left')) == 0 then
  redis.call('HSET', run, 'state', 'succeeded', 'error', '')
  redis.call('SREM', P .. 'runs:active', R)
elseif mode ~= 'sync' then
  redis.call('HSET', run, 'state', 'running', 'finished', 0, 'error', '')
  if mode == 'retry' then redis.call('HSET', run, 'failed', 0) end
  redis.call('SADD', P .. 'runs:active', R)
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', '1000000', '*', 'ev', 'submit',
    'run', R)
end
return out
