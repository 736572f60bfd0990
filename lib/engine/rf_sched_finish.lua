-- rf_sched_finish.lua: finish tasks, releasing dependents and chain links.
-- ARGV: P, n, n ids of events to acknowledge (XACK of group sched on the
-- events stream, after everything else: a failed call acknowledges
-- nothing), then per task: run, step, idx, kind (done|cache|skip|fail|approve:
-- a suspend step's approval, counted as done, its result kept in res),
-- result JSON, chain (0|1), error text, number of dependents, dependents...
-- Idempotent: a task finishes once (its bit in the step's bitmap). Returns
-- the number of finished groups (run, step) that released a step or a chain
-- link.
-- Batched: the bits of a step's tasks are set by one BITFIELD (which
-- answers the old ones), a result is stored per cached/skipped task, the
-- counters of a step are added once per batch and its completion checked
-- then. A failure first applies what is
-- pending for its run, so a run's transitions keep the order of its tasks.
-- @include rf_sched_prelude.lua
-- @include rf_sched_stepdone.lua
local P, nack, released = ARGV[1], tonumber(ARGV[2]), 0
local i = 3 + nack
local short = {done = 'd', cache = 'c', skip = 'k'}
local exists = {}   -- run -> whether its hash exists (read once per batch)
local groups = {}   -- run -> ordered list of pending (step) groups
local byname = {}   -- run..'\0'..step -> group
local function run_exists(R)
  if exists[R] == nil then
    exists[R] = redis.call('EXISTS', P .. 'run:' .. R) == 1
  end
  return exists[R]
end
-- Add a group's counts, then release what its step's completion releases.
local function apply(R, g)
  local run = P .. 'run:' .. R
  local steps, s = run .. ':steps', g.s
  for kind, c in pairs(g.n) do
    redis.call('HINCRBY', run, kind, c)
    redis.call('HINCRBY', steps, short[kind] .. '.' .. s, c)
  end
  local fin = redis.call('HINCRBY', steps, 'f.' .. s, g.cnt)
  local total = tonumber(redis.call('HGET', steps, 't.' .. s))
  if fin >= total then
    step_done(P, R, run, redis.call('HGET', run, 'state'), g.deps, s)
    if #g.deps > 0 then released = released + 1 end
  elseif g.chain == '1' then
    redis.call('HINCRBY', run .. ':todo', s, 1)
    released = released + 1
  end
end
local function flush(R)
  for _, g in ipairs(groups[R] or {}) do apply(R, g) end
  groups[R] = nil
  for k, g in pairs(byname) do if g.R == R then byname[k] = nil end end
end
local function fail(R, s, idx, res, why)
  local run = P .. 'run:' .. R
  local steps = run .. ':steps'
  if redis.call('GETBIT', run .. ':fin:' .. s, idx) == 1 then return end
  if redis.call('HSETNX', run .. ':res', s .. '/' .. idx, res) == 0 then return end
  redis.call('HINCRBY', steps, 'x.' .. s, 1)
  redis.call('HINCRBY', run, 'failed', 1)
  local state = redis.call('HGET', run, 'state')
  if state == 'running' and redis.call('HGET', steps, 'e.' .. s) == '1' then
    exit_over(P, R, run, why)
  elseif state == 'running' then
    main_over(P, R, run, 'failed', why)
  end
end
-- A done, cached, skipped or approved task whose bit was not set: its
-- result now, its counts later. a = the ARGV index of its dependents' count
-- (read for a new group only).
local function finish(R, s, idx, kind, res, chain, a)
  if kind ~= 'done' then redis.call('HSET', P .. 'run:' .. R .. ':res', s .. '/' .. idx, res) end
  if kind == 'approve' then kind = 'done' end
  local name = R .. '\0' .. s
  local g = byname[name]
  if not g then
    local deps = {}
    for k = 1, tonumber(ARGV[a]) do deps[k] = ARGV[a + k] end
    g = {R = R, s = s, chain = chain, deps = deps, n = {}, cnt = 0}
    byname[name] = g
    groups[R] = groups[R] or {}
    table.insert(groups[R], g)
  end
  g.n[kind] = (g.n[kind] or 0) + 1
  g.cnt = g.cnt + 1
end
-- Consecutive non-failures, set in their bitmaps with one BITFIELD per
-- step (its answers are the old bits: 1 = finished before, skip it).
local seg = {}
local function run_segment()
  local keys, ops = {}, {}
  for _, t in ipairs(seg) do
    local bk = P .. 'run:' .. ARGV[t] .. ':fin:' .. ARGV[t + 1]
    if not ops[bk] then
      ops[bk] = {}
      keys[#keys + 1] = bk
    end
    local o = ops[bk]
    o[#o + 1] = 'SET'
    o[#o + 1] = 'u1'
    o[#o + 1] = ARGV[t + 2]
    o[#o + 1] = '1'
  end
  local old, pos = {}, {}
  for _, bk in ipairs(keys) do
    local o, v = ops[bk], {}
    for j = 1, #o, 1000 do
      for _, x in ipairs(redis.call('BITFIELD', bk, unpack(o, j, math.min(j + 999, #o)))) do
        v[#v + 1] = x
      end
    end
    old[bk], pos[bk] = v, 0
  end
  for _, t in ipairs(seg) do
    local bk = P .. 'run:' .. ARGV[t] .. ':fin:' .. ARGV[t + 1]
    pos[bk] = pos[bk] + 1
    if old[bk][pos[bk]] == 0 then
      finish(ARGV[t], ARGV[t + 1], tonumber(ARGV[t + 2]), ARGV[t + 3], ARGV[t + 4],
        ARGV[t + 5], t + 7)
    end
  end
  seg = {}
end
local order, seen = {}, {}   -- runs in the order first seen, for the final flush
while i <= #ARGV do
  local R, kind = ARGV[i], ARGV[i + 3]
  if run_exists(R) then
    if not seen[R] then
      seen[R] = true
      order[#order + 1] = R
    end
    if kind == 'fail' then
      run_segment()
      flush(R)
      fail(R, ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 4], ARGV[i + 6])
    else
      seg[#seg + 1] = i   -- its arguments start at ARGV[i]
    end
  end
  i = i + 8 + tonumber(ARGV[i + 7])
end
run_segment()
for _, R in ipairs(order) do flush(R) end
for j = 3, 2 + nack, 1000 do
  redis.call('XACK', P .. 'events', 'sched', unpack(ARGV, j, math.min(j + 999, 2 + nack)))
end
return released
