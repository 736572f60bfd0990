#!/usr/bin/env bash
# idle_cpu.sh: with nothing to do, the engine's processes sleep. A worker
# (the generic one and a real worker binary) and the scheduler, connected to
# a real redis-server with empty queues, may use at most 50 ms of CPU time
# each over 5 s (issue 13: no busy loop when idle). Blocking takes and
# event waits cost nothing; a polling loop would show here.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"

rf_stack_init
rf_start_redis || { not_ok "redis-server starts"; finish; }
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL
export RUVFLOW_STORE="file://$RF_STACK_DIR/store"
export RUVFLOW_LOG=warn
mkdir -p "$RF_STACK_DIR/store"

start() { # name cmd...: start a process, remember its pid in PID_<name>
  local name=$1; shift
  "$@" >"$RF_STACK_DIR/$name.log" 2>&1 &
  RF_STACK_PIDS+=($!)
  printf -v "PID_$name" %s $!
}
start scheduler "$R" scheduler
start worker "$R" worker --types noop,sleep --concurrency 8
start train "$RF_BIN/ruvflow-train-stage" serve --concurrency 2

cpu_ms() { # pid: user+system CPU time so far, in milliseconds
  local f
  read -ra f <"/proc/$1/stat" || return 1
  # fields 14 and 15 (utime, stime) in clock ticks; the comm field has no
  # spaces here, so plain splitting is safe
  echo $(( (f[13] + f[14]) * 1000 / $(getconf CLK_TCK) ))
}

sleep 1.5   # start-up (connect, load scripts) is not idle time
for name in scheduler worker train; do
  pid_var="PID_$name"; pid=${!pid_var}
  if ! kill -0 "$pid" 2>/dev/null; then
    not_ok "$name is running ($(tail -3 "$RF_STACK_DIR/$name.log"))"
    continue
  fi
  eval "before_$name=$(cpu_ms "$pid")"
done
sleep 5
for name in scheduler worker train; do
  pid_var="PID_$name"; pid=${!pid_var}
  kill -0 "$pid" 2>/dev/null || continue
  b_var="before_$name"
  used=$(( $(cpu_ms "$pid") - ${!b_var} ))
  echo "# $name: ${used} ms CPU over 5 s idle"
  check "idle $name uses under 50 ms CPU in 5 s (used $used ms)" [ "$used" -lt 50 ]
done
finish
