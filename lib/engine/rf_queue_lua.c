/* rf_queue_lua: the queue's Lua scripts, one per state change of a task
 * (enqueue, take, heartbeat, commit, fail, release, reap...), under the
 * names their errors give. The Lua lives in lib/engine/rf_queue_<name>.lua,
 * with the helpers they share in rf_queue_prelude.lua, and is embedded at
 * build time (infra/build/embed_lua.sh). Each runs atomically on Redis;
 * docs/redis-schema.md describes the keys. */
#include "engine/rf_queue_impl.h"

const rf_script rf_queue_lua_enqueue = {"enqueue", rf_lua_queue_enqueue};
const rf_script rf_queue_lua_take = {"take", rf_lua_queue_take};
const rf_script rf_queue_lua_heartbeat = {"heartbeat", rf_lua_queue_heartbeat};
const rf_script rf_queue_lua_commit = {"commit", rf_lua_queue_commit};
const rf_script rf_queue_lua_fail = {"fail", rf_lua_queue_fail};
const rf_script rf_queue_lua_release = {"release", rf_lua_queue_release};
const rf_script rf_queue_lua_reap = {"reap", rf_lua_queue_reap};
const rf_script rf_queue_lua_cancel = {"cancel", rf_lua_queue_cancel};
const rf_script rf_queue_lua_forget = {"forget", rf_lua_queue_forget};
const rf_script rf_queue_lua_dlq_act = {"dlq", rf_lua_queue_dlq_act};
const rf_script rf_queue_lua_dlq_list = {"dlq ls", rf_lua_queue_dlq_list};
const rf_script rf_queue_lua_stats = {"stats", rf_lua_queue_stats};
const rf_script rf_queue_lua_worker_beat = {"worker beat", rf_lua_queue_worker_beat};
const rf_script rf_queue_lua_workers = {"workers", rf_lua_queue_workers};
