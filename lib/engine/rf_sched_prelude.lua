-- rf_sched_prelude.lua: now() in ms on the Redis server clock, for the run
-- scripts that stamp times (see infra/build/embed_lua.sh for @include).
local function now() local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000) end
