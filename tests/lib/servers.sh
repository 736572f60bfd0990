# servers.sh: start real servers for the tests on free loopback ports, inside
# one temporary folder, and stop them at exit (also on failure). Sourced by
# tests/run.sh, infra/demo.sh and the benchmarks.
#
#   rf_stack_init            make $RF_STACK_DIR and install the exit trap
#   rf_start_redis [ARGS]    redis-server; exports RF_TEST_REDIS_URL, RF_REDIS_PORT
#   rf_start_s3              see tests/lib/s3.sh (s3rver behind a SigV4 proxy)
#   rf_stack_stop            stop everything started here

RF_STACK_PIDS=()

rf_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

rf_stack_init() {
  RF_STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ruvflow-test.XXXXXX")
  export RF_STACK_DIR
  trap rf_stack_stop EXIT
  trap 'exit 130' INT TERM
}

rf_stack_stop() {
  # Runs from an EXIT trap, possibly under `set -e`: nothing here may fail.
  local pid
  for pid in "${RF_STACK_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${RF_STACK_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  RF_STACK_PIDS=()
  if [ -n "${RF_STACK_DIR:-}" ] && [ -z "${RF_KEEP_STACK:-}" ]; then
    rm -rf "$RF_STACK_DIR" || true
  fi
  return 0
}

rf_wait_port() { # port [seconds]
  local i
  for i in $(seq $(( ${2:-10} * 20 ))); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2
  return 1
}

rf_start_redis() { # extra redis-server args...
  local port dir
  port=$(rf_free_port)
  dir="$RF_STACK_DIR/redis-$port"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
    --appendonly no --logfile "$dir/redis.log" "$@" &
  RF_STACK_PIDS+=($!)
  RF_REDIS_PID=$!
  RF_REDIS_PORT=$port
  export RF_REDIS_PORT RF_REDIS_PID
  export RF_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
  rf_wait_port "$port"
}
