/* rf_sched_lua: the scheduler's Lua scripts, one per state transition of a
 * run (submit, finish, cache, trim...), under the names their errors give.
 * The Lua lives in lib/engine/rf_sched_<name>.lua (now() shared in
 * rf_sched_prelude.lua) and is embedded at build time
 * (infra/build/embed_lua.sh). Each runs atomically on Redis;
 * docs/redis-schema.md ("Runs") describes the keys they touch. */
#include "engine/rf_sched_impl.h"

const rf_script rf_sched_lua_submit = {"run submit", rf_lua_sched_submit};
const rf_script rf_sched_lua_finish = {"run finish", rf_lua_sched_finish};
const rf_script rf_sched_lua_spawn = {"run spawn", rf_lua_sched_spawn};
const rf_script rf_sched_lua_todo_done = {"run todo", rf_lua_sched_todo_done};
const rf_script rf_sched_lua_lock = {"run lock", rf_lua_sched_lock};
const rf_script rf_sched_lua_probe = {"run probe", rf_lua_sched_probe};
const rf_script rf_sched_lua_gather = {"run gather", rf_lua_sched_gather};
const rf_script rf_sched_lua_status = {"run status", rf_lua_sched_status};
const rf_script rf_sched_lua_cancel = {"run cancel", rf_lua_sched_cancel};
const rf_script rf_sched_lua_reopen = {"run reopen", rf_lua_sched_reopen};
const rf_script rf_sched_lua_cache_put = {"cache put", rf_lua_sched_cache_put};
const rf_script rf_sched_lua_trim = {"run trim", rf_lua_sched_trim};
const rf_script rf_sched_lua_expand = {"run expand", rf_lua_sched_expand};
const rf_script rf_sched_lua_cron_fire = {"cron fire", rf_lua_sched_cron_fire};
const rf_script rf_sched_lua_evtrim = {"events trim", rf_lua_sched_evtrim};
