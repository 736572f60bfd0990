-- rf_queue_fail.lua: fenced failure: retry after backoff, or dead.
-- ARGV: prefix, id, token, retryable, reason, u uniform in [0,1) (see
-- rf_queue_fail for the delay formula; a record without 'jit' has none).
-- Returns -1 stale, 0 retry, 1 dead, 2 cancelled.
-- @include rf_queue_prelude.lua
local id = ARGV[2]
local r = redis.call('HMGET', tk(id), 'st', 'tok')
if r[1] ~= 'leased' or r[2] ~= ARGV[3] then return -1 end
return fail_leased(id, ARGV[5], ARGV[4] == '1', tonumber(ARGV[6]), now())
