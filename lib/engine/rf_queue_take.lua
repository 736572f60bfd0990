-- rf_queue_take.lua: lease ready tasks, reaping first (rf_queue_take).
-- ARGV: prefix, worker, max, lease_ms, pool, type...
-- @include rf_queue_prelude.lua
-- Why a record cannot be run, or nil. r = HMGET of take's fields.
-- Shape only: the runtime parses the JSON fully and dead-letters
-- what does not parse; decoding here would cost every take.
local function json_obj(s)
  return type(s) == 'string' and string.sub(s, 1, 1) == '{' and string.sub(s, -1) == '}'
end
local names = {'prio', 'att', 'maxa', 'tok', 'tmo', 'idx'}
local at = {3, 4, 5, 6, 9, 13}
local function check(r, pool, typ)
  if not r[1] and not r[2] then return 'record missing' end
  if r[1] ~= typ or r[2] ~= pool then
    return 'record says queue '..tostring(r[2])..'/'..tostring(r[1])..
      ' but sits in '..pool..'/'..typ
  end
  for i, f in ipairs(at) do
    if not tonumber(r[f]) then
      return 'field '..names[i]..' is not a number: '..tostring(r[f])
    end
  end
  if not json_obj(r[7]) then return 'params is not a JSON object' end
  if not json_obj(r[8]) then return 'inputs is not a JSON object' end
  return nil
end
local worker, max, lease, pool = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local t, us = now(), num(now_us())
local types = {}
for i = 6, #ARGV do
  types[#types + 1] = ARGV[i]
  reap(pool, ARGV[i], t, 64)  -- expired leases handled per queue per take
end
-- Pop candidates in global score order across the type queues.
-- One type (the common case): pop the whole batch at once.
local popped, pi = nil, 1
local function pop()
  if #types == 1 then
    if not popped then popped = redis.call('ZPOPMIN', qk(pool, types[1], 'ready'), max) end
    local id = popped[pi]
    pi = pi + 2
    if id then return id, types[1] end
    return nil
  end
  local best, bs, bt = nil, nil, nil
  for _, typ in ipairs(types) do
    local h = redis.call('ZRANGE', qk(pool, typ, 'ready'), 0, 0, 'WITHSCORES')
    if h[1] and (not bs or tonumber(h[2]) < bs) then best, bs, bt = h[1], tonumber(h[2]), typ end
  end
  if best then redis.call('ZREM', qk(pool, bt, 'ready'), best) end
  return best, bt
end
-- Every lease of this call ends at the same deadline; the leased sets get
-- one ZADD per type at the end (the script is atomic: nobody sees between).
local deadline, leased = num(t + lease), {}
local out, guard = {}, 0
while #out < max and guard < max * 4 do
  guard = guard + 1
  local id, typ = pop()
  if not id then break end
  local k = tk(id)
  local r = task_get(k, 'type', 'pool', 'prio', 'att', 'maxa', 'tok',
    'params', 'inputs', 'tmo', 'run', 'step', 'tier', 'idx', 'enq', 'st')
  local bad = check(r, pool, typ)
  if bad then
    to_dead(id, pool, typ, 'malformed record: '..bad, t)
  elseif r[15] == 'ready' then
    local tok, att = tonumber(r[6]) + 1, tonumber(r[4]) + 1
    redis.call('HSET', k, 'st', 'leased', 'tok', num(tok), 'att', num(att), 'wk', worker,
      'start', us, 'run0', '0')
    local lz = leased[typ]
    if not lz then
      lz = {}
      leased[typ] = lz
    end
    lz[#lz + 1] = deadline
    lz[#lz + 1] = id
    out[#out + 1] = {id, num(tok), num(att), r[10] or '', r[11] or '', r[13], typ, pool,
      r[3], r[7], r[8], r[12] or 'hot', r[9], r[5], r[14] or us, us}
  end
end
for typ, lz in pairs(leased) do multi('ZADD', qk(pool, typ, 'leased'), lz) end
return out
