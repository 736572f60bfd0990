#!/usr/bin/env bash
# bench_queue.sh: the queue path alone (enqueue, take, commit) against BullMQ,
# on one private redis-server, in the same run.
#
#   1. memory: INFO used_memory per queued task (20,000 no-op tasks, no
#      workers) vs per waiting BullMQ job;
#   2. throughput: 20,000 no-op tasks through 8 `ruvflow worker --types noop`
#      processes vs 20,000 no-op jobs through one BullMQ Worker at
#      concurrency 50: tasks/s (target: at least 2x);
#   3. latency: enqueue-to-start p50/p99 with tasks paced at half of each
#      system's measured peak (target: our p99 under 5 ms).
# Set RF_BENCH_TASKS to change the task count (default 20000).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/servers.sh
. tests/bench/lib.sh
BUILD=${BUILD:-build}
RF_BIN=${RF_BIN:-$PWD/$BUILD/bin}
QB=$PWD/$BUILD/bench/queue_bench
N=${RF_BENCH_TASKS:-20000}
: "${RF_BENCH_OUT:=/dev/stdout}"

[ -x "$QB" ] || { echo "bench_queue: build first ($QB missing)" >&2; exit 1; }
[ -d tests/tools/node_modules/bullmq ] || {
  echo "bench_queue: BullMQ not installed: cd tests/tools && npm ci" >&2; exit 1; }

rf_stack_init
rf_start_redis || exit 1
URL=$RF_TEST_REDIS_URL
PORT=$RF_REDIS_PORT

val() { awk -v k="$1" '$1 == k {print $2}'; }

workers=()
start_workers() {
  for _ in $(seq 8); do
    "$RF_BIN/ruvflow" worker --types noop --redis "$URL" --prefix bench: \
      2>>"$RF_STACK_DIR/workers.log" &
    workers+=($!)
  done
  sleep 0.5
}
stop_workers() {
  # Never a bare `wait`: it would wait for redis-server too.
  [ ${#workers[@]} -gt 0 ] || return 0
  kill "${workers[@]}" 2>/dev/null
  wait "${workers[@]}" 2>/dev/null
  workers=()
}
trap 'stop_workers; rf_stack_stop' EXIT

echo "-- memory per queued task ($N tasks)" >&2
ours_mem=$("$QB" memory "$URL" mem: "$N" | val bytes_per_task)
bull_mem=$(node tests/bench/bullmq_bench.js memory "$PORT" "$N" | val bytes_per_task)
echo "   ruvflow $ours_mem B, BullMQ $bull_mem B" >&2

echo "-- throughput ($N no-op tasks; 8 workers vs BullMQ concurrency 50)" >&2
start_workers
ours=$("$QB" throughput "$URL" bench: "$N")
ours_tps=$(echo "$ours" | val tasks_per_s)
stop_workers
bull=$(node tests/bench/bullmq_bench.js throughput "$PORT" "$N")
bull_tps=$(echo "$bull" | val tasks_per_s)
echo "   ruvflow $ours_tps tasks/s, BullMQ $bull_tps jobs/s" >&2

# Half of each one's peak; fewer tasks keep the paced runs short.
LN=$(( N / 4 ))
ours_rate=$(( ${ours_tps%.*} / 2 ))
bull_rate=$(( ${bull_tps%.*} / 2 ))
echo "-- latency at half load ($LN tasks; ruvflow at $ours_rate/s, BullMQ at $bull_rate/s)" >&2
start_workers
ours_lat=$("$QB" latency "$URL" bench: "$LN" "$ours_rate")
stop_workers
bull_lat=$(node tests/bench/bullmq_bench.js latency "$PORT" "$LN" "$bull_rate")
o50=$(echo "$ours_lat" | val p50_ms); o99=$(echo "$ours_lat" | val p99_ms)
b50=$(echo "$bull_lat" | val p50_ms); b99=$(echo "$bull_lat" | val p99_ms)
echo "   ruvflow p50 $o50 ms p99 $o99 ms; BullMQ p50 $b50 ms p99 $b99 ms (BullMQ: ms clock)" >&2
ok=$(awk -v x="$o99" 'BEGIN {print (x < 5) ? "yes" : "NO"}')
echo "   p99 under 5 ms at half load: $ok" >&2

rf_bench_emit queue_noop_tasks_per_s tasks/s "$ours_tps" "$bull_tps" BullMQ-5.34 1 2
rf_bench_emit queue_latency_p50_half_load_ms ms "$o50" "$b50" BullMQ-5.34 0 -
rf_bench_emit queue_latency_p99_half_load_ms ms "$o99" "$b99" BullMQ-5.34 0 -
rf_bench_emit queue_memory_per_queued_task bytes "$ours_mem" "$bull_mem" BullMQ-5.34 0 -
