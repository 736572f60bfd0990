#!/usr/bin/env bash
# bench_engine.sh: no-op tasks through the whole path (submit, dispatch,
# enqueue, take, commit, dependents released, run done), on one
# redis-server shared with the peer, with 8 worker slots (2 `ruvflow worker`
# processes of concurrency 4) and one scheduler:
#   (a) 20,000 independent tasks (one foreach step), submit to run done;
#   (b) a 20,000-task DAG of chains and diamonds (workflows/noop-dag.yaml);
#   (h) latency at half load: enqueue-to-start p50/p99 with tasks paced at
#       50% of (a)'s rate (queue_bench's paced producer through rf_queue,
#       2 more workers of concurrency 4 on their own prefix; times from the
#       task records, the Redis server's clock, in us);
#   (c) `ruvflow submit` of a 100,000-task workflow, from process start until
#       all its tasks sit in the ready queue (a second scheduler on its own
#       prefix, no workers there; target: under 1 s);
#   (d) Redis bytes per queued task: used_memory after MEMORY PURGE, before
#       and after (c), / 100,000 (target: under 512).
# Per task, for (a) and (b): Redis CPU (INFO cpu used_cpu_user+used_cpu_sys
# before and after), worker and scheduler CPU (/proc/PID/stat utime+stime).
# Peer, in the same run on the same Redis: BullMQ (tests/bench/bullmq_bench.js,
# pinned in tests/tools) its documented fast way: N jobs added first with
# Queue.addBulk (the add rate, timed apart), then ONE Worker at concurrency
# 50 timed until all complete (the processing rate, which (a) and (b) are
# divided by); its latency at 50% of that rate with jobs added one by one
# (Queue.add), latency = processedOn - timestamp (ms clock).
# RF_BENCH_TASKS overrides 20000 (quick checks); RF_BENCH_SUBMIT 100000.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/bench/lib.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
QB=${QB:-$(dirname "$RF_BIN")/bench/queue_bench}
R="$RF_BIN/ruvflow"
N=${RF_BENCH_TASKS:-20000}
NS=${RF_BENCH_SUBMIT:-100000}
: "${RF_BENCH_OUT:=/dev/stdout}"
[ -x "$QB" ] || { echo "bench_engine: build first ($QB missing)" >&2; exit 1; }

rf_stack_init
rf_start_redis --appendonly no || exit 1
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_LOG=warn
export RUVFLOW_STORE="file://$RF_STACK_DIR/store"
cli() { redis-cli -p "$RF_REDIS_PORT" "$@"; }
py() { python3 -c "print($1)"; }

"$R" scheduler >"$RF_STACK_DIR/scheduler.log" 2>&1 &
sched=$!
RF_STACK_PIDS+=($sched)
workers=()
for i in 1 2; do
  "$R" worker --types noop --concurrency 4 >"$RF_STACK_DIR/worker$i.log" 2>&1 &
  workers+=($!)
  RF_STACK_PIDS+=($!)
done

now_ms() { date +%s%3N; }
# CPU seconds: of Redis so far; of the given processes so far.
redis_cpu() { cli INFO cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.6f", s}'; }
proc_cpu() {
  local hz p
  hz=$(getconf CLK_TCK)
  for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done |
    awk -v hz="$hz" '{s += $1} END {printf "%.6f", s / hz}'
}
cpu_snap() { echo "$(redis_cpu) $(proc_cpu "${workers[@]}") $(proc_cpu "$sched")"; }
# per_task N "R0 W0 S0" "R1 W1 S1": "redis_us worker_us sched_us" per task
per_task() {
  python3 - "$@" <<'PY'
import sys
n = int(sys.argv[1]); a = [float(x) for x in sys.argv[2].split()]; b = [float(x) for x in sys.argv[3].split()]
print(" ".join(f"{(y - x) * 1e6 / n:.2f}" for x, y in zip(a, b)))
PY
}

# until_reply SECONDS TEST CMD ARGS...: send the Redis command (inline:
# arguments without spaces) every 5 ms on one connection until `TEST
# ANSWER` succeeds; prints the answer. Bash's /dev/tcp and builtins only:
# a process per poll would take CPU from the engine being measured.
until_reply() {
  local secs=$1 test=$2 line end
  shift 2
  end=$(( ${EPOCHREALTIME/./} / 1000 + secs * 1000 ))
  exec 7<>"/dev/tcp/127.0.0.1/$RF_REDIS_PORT" || return 1
  while :; do
    printf '%s\r\n' "$*" >&7
    IFS= read -r line <&7
    line=${line%$'\r'}
    case $line in
      '$-1') line= ;;
      '$'*) IFS= read -r line <&7; line=${line%$'\r'} ;;
      :*) line=${line#:} ;;
    esac
    "$test" "$line" && break
    [ $(( ${EPOCHREALTIME/./} / 1000 )) -lt "$end" ] || { exec 7>&-; return 1; }
    read -r -t 0.005 -u 7 _   # nothing comes: a 5 ms sleep without a process
  done
  exec 7>&-
  echo "$line"
}
not_running() { [ "$1" != running ]; }
all_queued() { [ "${1:-0}" -ge "$NS" ]; }

# run_to_done FILE ARGS...: submit, wait for the run; prints "RUN MS".
run_to_done() {
  local t0 run st
  t0=$(now_ms)
  run=$("$R" submit "$@" --no-cache) || return 1
  st=$(until_reply 600 not_running HGET "rf:run:$run" state)
  [ "$st" = succeeded ] || { echo "bench: run $run $st" >&2; return 1; }
  echo "$run $(( $(now_ms) - t0 ))"
}

flat="$RF_STACK_DIR/flat.yaml"
cat >"$flat" <<'EOF2'
name: flat
params: {n: 20000}
steps:
  t: {worker: noop, foreach: {range: "${{ params.n }}"}, with: {i: "${{ item }}"}}
EOF2
sleep 0.5   # workers and scheduler connected

# (a) independent tasks
c0=$(cpu_snap)
read -r _ ms < <(run_to_done "$flat" -p n="$N") || exit 1
read -r a_redis a_work a_sched < <(per_task "$N" "$c0" "$(cpu_snap)")
a_tps=$(py "$N * 1000 / $ms")
echo "engine (a) $N independent: ${ms} ms, $a_tps tasks/s; per task: Redis $a_redis us, workers $a_work us, scheduler $a_sched us CPU" >&2

# (b) chains and diamonds: 4 * width + depth + 3 tasks
width=$(( (N - 13) / 4 ))
b_n=$(( 4 * width + 13 ))
c0=$(cpu_snap)
read -r _ ms < <(run_to_done "$here/workflows/noop-dag.yaml" -p width=$width -p depth=10) || exit 1
read -r b_redis b_work b_sched < <(per_task "$b_n" "$c0" "$(cpu_snap)")
b_tps=$(py "$b_n * 1000 / $ms")
echo "engine (b) $b_n-task DAG: ${ms} ms, $b_tps tasks/s; per task: Redis $b_redis us, workers $b_work us, scheduler $b_sched us CPU" >&2

# (h) latency at half of (a)'s rate, on its own prefix (no scheduler there:
# queue_bench waits for the done events itself).
LN=$(( N / 4 ))
rate=$(py "int($a_tps / 2)")
lat_pids=()
for i in 1 2; do
  "$R" worker --types noop --concurrency 4 --prefix lat: >"$RF_STACK_DIR/latw$i.log" 2>&1 &
  lat_pids+=($!)
  RF_STACK_PIDS+=($!)
done
sleep 0.5
out=$("$QB" latency "$RF_TEST_REDIS_URL" lat: "$LN" "$rate") || exit 1
kill "${lat_pids[@]}" 2>/dev/null
h_p50=$(awk '$1 == "p50_ms" {print $2}' <<<"$out")
h_p99=$(awk '$1 == "p99_ms" {print $2}' <<<"$out")
echo "engine (h) $LN tasks at $rate/s (half of (a)): enqueue-to-start p50 $h_p50 ms, p99 $h_p99 ms" >&2

# Peer: BullMQ on the same Redis, while our workers sit idle.
peer_tps=- peer_add=- peer_redis=- peer_node=- peer_p50=- peer_p99=- peer_mem=-
js="$here/tests/bench/bullmq_bench.js"
if [ -f "$js" ] && [ -d "$here/tests/tools/node_modules/bullmq" ] && command -v node >/dev/null; then
  out=$(node "$js" throughput "$RF_REDIS_PORT" "$N" 2>>"$RF_STACK_DIR/bullmq.log") || exit 1
  val() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }
  peer_tps=$(val tasks_per_s) peer_add=$(val add_per_s) peer_node=$(val node_cpu_proc_us)
  peer_redis=$(py "round($(val redis_cpu_add_us) + $(val redis_cpu_proc_us), 2)")
  echo "bullmq $N jobs: addBulk $peer_add jobs/s, then one Worker at concurrency 50: $peer_tps jobs/s; per job: Redis $peer_redis us (add $(val redis_cpu_add_us) + process $(val redis_cpu_proc_us)), worker (node) $peer_node us CPU" >&2
  brate=$(py "int($peer_tps / 2)")
  out=$(node "$js" latency "$RF_REDIS_PORT" "$LN" "$brate" 2>>"$RF_STACK_DIR/bullmq.log") || exit 1
  peer_p50=$(val p50_ms) peer_p99=$(val p99_ms)
  echo "bullmq $LN jobs at $brate/s (half of its rate, Queue.add): p50 $peer_p50 ms, p99 $peer_p99 ms (ms clock)" >&2
  out=$(node "$js" memory "$RF_REDIS_PORT" "$N" 2>>"$RF_STACK_DIR/bullmq.log") || exit 1
  peer_mem=$(val bytes_per_task)
else
  echo "bench_engine: BullMQ peer not available (tests/bench/bullmq_bench.js, npm ci)" >&2
fi

# (c) submit of NS tasks until all are queued, and (d) their memory: a
# scheduler on another prefix with no workers, so the tasks stay ready.
RUVFLOW_REDIS_PREFIX=bsub: "$R" scheduler >"$RF_STACK_DIR/scheduler-bsub.log" 2>&1 &
bsched=$!
RF_STACK_PIDS+=($bsched)
sleep 0.5
used_memory() {
  cli MEMORY PURGE >/dev/null
  cli INFO memory | awk -F: '/^used_memory:/ {print $2 + 0}'
}
m0=$(used_memory)
t0=$(now_ms)
RUVFLOW_REDIS_PREFIX=bsub: "$R" submit "$flat" -p n="$NS" --no-cache >/dev/null || exit 1
t1=$(now_ms)
until_reply 300 all_queued ZCARD bsub:q:default:noop:ready >/dev/null ||
  { echo "bench: $NS tasks not queued in 300 s" >&2; exit 1; }
t2=$(now_ms)
c_s=$(py "($t2 - $t0) / 1000")
c_rate=$(py "int($NS * 1000 / ($t2 - $t0))")
m1=$(used_memory)
d_bytes=$(py "round(($m1 - $m0) / $NS, 1)")
id=$(cli ZRANGE bsub:q:default:noop:ready 0 0)
echo "engine (c) submit of $NS tasks: $(( t1 - t0 )) ms to return, $c_s s until all queued ($c_rate tasks/s)" >&2
echo "engine (d) Redis bytes per queued task: $d_bytes (one record: MEMORY USAGE $(cli MEMORY USAGE "bsub:t:$id") B, $(cli OBJECT ENCODING "bsub:t:$id")); BullMQ per waiting job: $peer_mem" >&2
kill "$bsched" 2>/dev/null

rf_bench_emit "engine (a) flat tasks/s" "tasks/s" "$a_tps" "$peer_tps" "bullmq processing c=50" 1 3
rf_bench_emit "engine (a) flat tasks/s (floor)" "tasks/s" "$a_tps" "$peer_tps" "bullmq processing c=50" 1 2
rf_bench_emit "engine (b) DAG tasks/s" "tasks/s" "$b_tps" "$peer_tps" "bullmq processing c=50 (flat)" 1 2
rf_bench_emit "engine (a) Redis CPU per task" "us" "$a_redis" "$peer_redis" "bullmq add+process" 0 -
rf_bench_emit "engine (b) Redis CPU per task" "us" "$b_redis" "$peer_redis" "bullmq add+process" 0 -
rf_bench_emit "engine (a) worker CPU per task" "us" "$a_work" "$peer_node" "bullmq Worker (node)" 0 -
rf_bench_emit "engine (b) worker CPU per task" "us" "$b_work" "$peer_node" "bullmq Worker (node)" 0 -
rf_bench_emit "engine (a) scheduler CPU per task" "us" "$a_sched" - "-" 0 -
rf_bench_emit "engine (b) scheduler CPU per task" "us" "$b_sched" - "-" 0 -
rf_bench_emit "engine half load p50 enq-to-start" "ms" "$h_p50" "$peer_p50" "bullmq half load" 0 -
rf_bench_emit "engine half load p99 enq-to-start" "ms" "$h_p99" "$peer_p99" "bullmq half load" 0 -
rf_bench_emit "engine half load p99 (target 5 ms)" "ms" "$h_p99" 5 "target 5 ms" 0 1
rf_bench_emit "engine (c) submit rate to queued" "tasks/s" "$c_rate" "$peer_add" "bullmq addBulk" 1 -
rf_bench_emit "engine (c) submit 100k to all queued" "s" "$c_s" 1 "target 1 s" 0 1
rf_bench_emit "engine (d) Redis bytes/queued task" "B" "$d_bytes" 512 "target 512 B" 0 1
rf_bench_emit "engine (d) Redis bytes/queued task" "B" "$d_bytes" "$peer_mem" "bullmq waiting job" 0 -
