#!/usr/bin/env bash
# bench_engine.sh: no-op tasks through the whole path (submit, dispatch,
# enqueue, take, commit, dependents released, run done), on one
# redis-server shared with the peer, with 8 worker slots (2 `ruvflow worker`
# processes of concurrency 4) and one scheduler:
#   (a) 20,000 independent tasks (one foreach step);
#   (b) a 20,000-task DAG of chains and diamonds (workflows/noop-dag.yaml);
#   (c) `ruvflow submit` of a 100,000-task workflow (target: under 2 s).
# Reported: tasks/s from submit to run done, and enqueue-to-start latency
# p50/p99 from the task records (µs clocks of the Redis server). Peer, in
# the same run: BullMQ (tests/bench/bullmq_bench.js, pinned in
# tests/tools) processing 20,000 no-op jobs at concurrency 50.
# RF_BENCH_TASKS overrides 20000 (quick checks).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/bench/lib.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
N=${RF_BENCH_TASKS:-20000}
: "${RF_BENCH_OUT:=/dev/stdout}"

rf_stack_init
rf_start_redis --appendonly no || exit 1
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_LOG=warn
export RUVFLOW_STORE="file://$RF_STACK_DIR/store"
cli() { redis-cli -p "$RF_REDIS_PORT" "$@"; }

"$R" scheduler >"$RF_STACK_DIR/scheduler.log" 2>&1 &
RF_STACK_PIDS+=($!)
for i in 1 2; do
  "$R" worker --types noop --concurrency 4 >"$RF_STACK_DIR/worker$i.log" 2>&1 &
  RF_STACK_PIDS+=($!)
done

now_ms() { date +%s%3N; }

# run_to_done FILE ARGS...: submit, wait for the run; prints "RUN SECONDS".
run_to_done() {
  local t0 run st
  t0=$(now_ms)
  run=$("$R" submit "$@" --no-cache) || return 1
  while :; do
    st=$(cli HGET "rf:run:$run" state)
    [ "$st" != running ] && break
    sleep 0.02
  done
  [ "$st" = succeeded ] || { echo "bench: run $run $st" >&2; return 1; }
  echo "$run $(( $(now_ms) - t0 ))"
}

# latency RUN: "p50_ms p99_ms" of enqueue-to-start over the run's tasks.
latency() {
  cli EVAL "
    local P, R = 'rf:', ARGV[1]
    local plan = cjson.decode(redis.call('GET', P .. 'run:' .. R .. ':plan'))
    local out = {}
    for si, s in ipairs(plan.steps) do
      local n = tonumber(redis.call('HGET', P .. 'run:' .. R .. ':steps', 't.' .. (si - 1)))
      for i = 0, n - 1 do
        local r = redis.call('HMGET', P .. 't:' .. R .. '/' .. s.name .. '/' .. i, 'enq', 'start')
        if r[1] and r[2] then out[#out + 1] = tonumber(r[2]) - tonumber(r[1]) end
      end
    end
    return out" 0 "$1" | python3 -c '
import sys
v = sorted(int(x) for x in sys.stdin.read().split())
pct = lambda p: v[min(len(v) - 1, len(v) * p // 100)] / 1000.0
print(f"{pct(50):.3f} {pct(99):.3f}")'
}

flat="$RF_STACK_DIR/flat.yaml"
cat >"$flat" <<'EOF'
name: flat
params: {n: 20000}
steps:
  t: {worker: noop, foreach: {range: "${{ params.n }}"}, with: {i: "${{ item }}"}}
EOF

# (a) independent tasks
read -r run ms < <(run_to_done "$flat" -p n="$N") || exit 1
a_tps=$(python3 -c "print($N * 1000 / $ms)")
read -r a_p50 a_p99 < <(latency "$run")
echo "engine (a) $N independent: ${ms} ms, $a_tps tasks/s, p50 $a_p50 ms, p99 $a_p99 ms" >&2

# (b) chains and diamonds: 4 * width + depth + 3 tasks
width=$(( (N - 13) / 4 ))
read -r run ms < <(run_to_done "$here/workflows/noop-dag.yaml" -p width=$width -p depth=10) || exit 1
b_n=$(( 4 * width + 13 ))
b_tps=$(python3 -c "print($b_n * 1000 / $ms)")
read -r b_p50 b_p99 < <(latency "$run")
echo "engine (b) $b_n-task DAG: ${ms} ms, $b_tps tasks/s, p50 $b_p50 ms, p99 $b_p99 ms" >&2

# (c) submit of a 100,000-task workflow (another prefix: nobody runs it)
t0=$(now_ms)
RUVFLOW_REDIS_PREFIX=bsub: "$R" submit "$flat" -p n=100000 >/dev/null || exit 1
c_s=$(python3 -c "print(($(now_ms) - $t0) / 1000)")
echo "engine (c) submit of 100,000 tasks: $c_s s" >&2

# Peer: BullMQ on the same Redis.
peer_tps=- peer_p50=- peer_p99=-
js="$here/tests/bench/bullmq_bench.js"
if [ -f "$js" ] && [ -d "$here/tests/tools/node_modules/bullmq" ] && command -v node >/dev/null; then
  out=$(node "$js" throughput "$RF_REDIS_PORT" "$N" 2>"$RF_STACK_DIR/bullmq.log")
  peer_tps=$(awk '$1 == "tasks_per_s" {print $2}' <<<"$out")
  peer_p50=$(awk '$1 == "p50_ms" {print $2}' <<<"$out")
  peer_p99=$(awk '$1 == "p99_ms" {print $2}' <<<"$out")
  echo "bullmq $N jobs at concurrency 50: $peer_tps jobs/s, p50 $peer_p50 ms, p99 $peer_p99 ms" >&2
else
  echo "bench_engine: BullMQ peer not available (tests/bench/bullmq_bench.js, npm ci)" >&2
fi

rf_bench_emit "engine (a) independent tasks/s" "tasks/s" "$a_tps" "$peer_tps" "bullmq c=50" 1 2
rf_bench_emit "engine (a) enqueue-to-start p50" "ms" "$a_p50" "$peer_p50" "bullmq c=50" 0 -
rf_bench_emit "engine (a) enqueue-to-start p99" "ms" "$a_p99" "$peer_p99" "bullmq c=50" 0 -
rf_bench_emit "engine (b) DAG tasks/s" "tasks/s" "$b_tps" "$peer_tps" "bullmq c=50 (flat)" 1 -
rf_bench_emit "engine (b) DAG enqueue-to-start p50" "ms" "$b_p50" "$peer_p50" "bullmq c=50 (flat)" 0 -
rf_bench_emit "engine (b) DAG enqueue-to-start p99" "ms" "$b_p99" "$peer_p99" "bullmq c=50 (flat)" 0 -
rf_bench_emit "engine (c) submit 100k tasks" "s" "$c_s" 2 "target 2 s" 0 1
