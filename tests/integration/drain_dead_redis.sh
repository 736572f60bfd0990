#!/usr/bin/env bash
# drain_dead_redis: SIGTERM stops a worker and a scheduler that are
# reconnecting to a dead Redis, without waiting out the reconnect budget
# (30 s for workers, 300 s for schedulers): at the start, and after Redis
# died under a running worker, also with the scheduler's /metrics on.
# The bound checked (10 s) is the functional deadline, far above the ~1 s
# it takes.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
R="${RF_BIN:-$here/build/bin}/ruvflow"
rf_stack_init
work="$RF_STACK_DIR/drain"; mkdir -p "$work/redis"
port=$(rf_free_port)
export RUVFLOW_REDIS_URL="redis://127.0.0.1:$port/0" RUVFLOW_STORE="file://$work/store"

stops_within() { # seconds pid: 0 if pid exits within the bound
  local end=$((SECONDS + $1))
  while kill -0 "$2" 2>/dev/null; do
    [ $SECONDS -ge $end ] && { kill -9 "$2" 2>/dev/null; return 1; }
    sleep 0.1
  done
  return 0
}
saw_retry() { # log: the process was waiting on Redis when signalled
  for _ in $(seq 50); do grep -q "retrying with backoff" "$1" && return 0; sleep 0.1; done
  return 1
}

for who in "worker --types noop" scheduler; do
  name=${who%% *}
  "$R" $who >"$work/$name.log" 2>&1 &
  pid=$!
  saw_retry "$work/$name.log" || true
  kill -TERM "$pid"
  check "$name: SIGTERM while Redis was never up stops it" stops_within 10 "$pid"
done

redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --appendonly no --logfile "$work/redis.log" &
rpid=$!; RF_STACK_PIDS+=($rpid)
rf_wait_port "$port"
"$R" worker --types noop,sleep --concurrency 2 >"$work/worker2.log" 2>&1 &
wpid=$!
"$R" scheduler >"$work/scheduler2.log" 2>&1 &
spid=$!
# with /metrics on, its event tailer has a Redis connection of its own that
# must give up reconnecting too (it held the scheduler up for minutes)
"$R" scheduler --metrics 127.0.0.1:0 >"$work/scheduler3.log" 2>&1 &
mpid=$!
sleep 1
kill -9 "$rpid"; wait "$rpid" 2>/dev/null
sleep 1
kill -TERM "$wpid" "$spid" "$mpid"
check "worker: SIGTERM after Redis died mid-run stops it" stops_within 10 "$wpid"
check "scheduler: SIGTERM after Redis died mid-run stops it" stops_within 10 "$spid"
check "scheduler --metrics: SIGTERM after Redis died mid-run stops it" stops_within 10 "$mpid"
finish
