#!/usr/bin/env bash
# profile_engine.sh: where the time of a no-op task goes, per task, on the
# stack of bench_engine.sh (one redis-server, one scheduler, 2 workers of
# concurrency 4). Not a benchmark (no peer, not run by `make bench`): the
# per-task costs behind its figures, for docs/performance.md.
#   bash tests/bench/profile_engine.sh [flat|dag] [N]
# Prints tasks/s; per task: Redis CPU (INFO cpu), worker and scheduler CPU
# (/proc/PID/stat utime+stime), round trips of workers and scheduler (their
# /metrics, ruvflow_redis_round_trips_total), Redis commands and EVALSHA
# usec per call (INFO commandstats, reset before the run). The scheduler
# runs with --metrics (for its counter), so its events tailer is in the
# Redis figures: an XREAD per batch and an HMGET per event (rf_monitor).
# RF_PROFILE_PERF=1 records redis-server with `perf record` and prints the
# symbols with the most self time.
# RF_PROFILE_SLOWLOG=1 logs every command in Redis's SLOWLOG and prints the
# time per task of each script (by SHA and first arguments): inflated by the
# logging, but it shows how the scripts compare.
# RF_PROFILE_STRACE=1 also runs the workers and scheduler under `strace -c
# -f` and prints their syscall summaries (slower: for counts, not times).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
kind=${1:-flat}
N=${2:-20000}

rf_stack_init
slow=()
[ "${RF_PROFILE_SLOWLOG:-0}" = 1 ] &&
  slow=(--slowlog-log-slower-than 0 --slowlog-max-len 2000000)
rf_start_redis --appendonly no "${slow[@]}" || exit 1
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_LOG=warn
export RUVFLOW_STORE="file://$RF_STACK_DIR/store"
cli() { redis-cli -p "$RF_REDIS_PORT" "$@"; }
wrap=()
[ "${RF_PROFILE_STRACE:-0}" = 1 ] && wrap=(strace -c -f -o)

sport=$(rf_free_port)
if [ ${#wrap[@]} -gt 0 ]; then
  "${wrap[@]}" "$RF_STACK_DIR/strace.sched" "$R" scheduler --metrics "127.0.0.1:$sport" \
    >"$RF_STACK_DIR/scheduler.log" 2>&1 &
else
  "$R" scheduler --metrics "127.0.0.1:$sport" >"$RF_STACK_DIR/scheduler.log" 2>&1 &
fi
RF_STACK_PIDS+=($!)
spid=$!
wpids=()
wports=()
for i in 1 2; do
  p=$(rf_free_port)
  wports+=("$p")
  if [ ${#wrap[@]} -gt 0 ]; then
    "${wrap[@]}" "$RF_STACK_DIR/strace.worker$i" "$R" worker --types noop --concurrency 4 ${RF_PROFILE_WORKER_ARGS:-} \
      --metrics "127.0.0.1:$p" >"$RF_STACK_DIR/worker$i.log" 2>&1 &
  else
    "$R" worker --types noop --concurrency 4 ${RF_PROFILE_WORKER_ARGS:-} --metrics "127.0.0.1:$p" \
      >"$RF_STACK_DIR/worker$i.log" 2>&1 &
  fi
  RF_STACK_PIDS+=($!)
  wpids+=($!)
done
rf_wait_port "$sport" 10 || exit 1
for p in "${wports[@]}"; do rf_wait_port "$p" 10 || exit 1; done
sleep 0.5

# The real processes (under strace, the traced children).
# The processes started here (under strace: the traced child), never
# another stack's that runs the same binary.
procs() { local p c; for p in "$@"; do
  if [ ${#wrap[@]} -gt 0 ]; then
    for c in $(pgrep -P "$p"); do echo "$c"; done
  else
    echo "$p"
  fi; done; }
ticks() { local t=0 p; for p in "$@"; do
  t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo "$t"; }
trips() { # trips PATTERN PORT...: round trips summed over /metrics samples matching
  local t=0 p v pat=$1
  shift
  for p in "$@"; do
    v=$(curl -s "http://127.0.0.1:$p/metrics" |
        awk -v pat="$pat" '/^ruvflow_redis_round_trips_total/ && $0 ~ pat {s += $2}
                           END {printf "%d", s}')
    t=$(( t + v ))
  done
  echo "$t"
}
rcpu() { cli INFO cpu | awk -F: '/used_cpu_(user|sys):/ {s += $2} END {printf "%.4f", s}'; }

wp=$(procs "${wpids[@]}" | tr '\n' ' ') sp=$(procs "$spid" | tr '\n' ' ')
# Stop the traced processes themselves first (strace then writes its summary).
[ ${#wrap[@]} -gt 0 ] && RF_STACK_PIDS=($wp $sp "${RF_STACK_PIDS[@]}")
case $kind in
  flat)
    wf="$RF_STACK_DIR/flat.yaml"
    cat >"$wf" <<'EOF'
name: flat
params: {n: 20000}
steps:
  t: {worker: noop, foreach: {range: "${{ params.n }}"}, with: {i: "${{ item }}"}}
EOF
    args=(-p n="$N") ntasks=$N ;;
  dag)
    wf="$here/workflows/noop-dag.yaml" width=$(( (N - 13) / 4 ))
    args=(-p width=$width -p depth=10) ntasks=$(( 4 * width + 13 )) ;;
  *) echo "usage: profile_engine.sh [flat|dag] [N]" >&2; exit 2 ;;
esac

cli CONFIG RESETSTAT >/dev/null
[ ${#slow[@]} -gt 0 ] && cli SLOWLOG RESET >/dev/null
r0=$(rcpu) w0=$(ticks $wp) s0=$(ticks $sp)
wt0=$(trips . "${wports[@]}") st0=$(trips 'conn="scheduler"' "$sport")
if [ "${RF_PROFILE_PERF:-0}" = 1 ]; then
  perf record -F 2000 -g -p "$RF_REDIS_PID" -o "$RF_STACK_DIR/perf.redis" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.3
fi
t0=$(date +%s%3N)
run=$("$R" submit "$wf" "${args[@]}" --no-cache) || exit 1
while [ "$(cli HGET "rf:run:$run" state)" = running ]; do sleep 0.02; done
ms=$(( $(date +%s%3N) - t0 ))
r1=$(rcpu) w1=$(ticks $wp) s1=$(ticks $sp)
wt1=$(trips . "${wports[@]}") st1=$(trips 'conn="scheduler"' "$sport")
state=$(cli HGET "rf:run:$run" state)
if [ -n "${perf_pid:-}" ]; then
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null
  echo "== perf report of redis-server: by object, then symbols (self time)"
  perf report -i "$RF_STACK_DIR/perf.redis" --no-children --sort dso --stdio 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -6
  perf report -i "$RF_STACK_DIR/perf.redis" --no-children --sort symbol --stdio 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -25
fi
hz=$(getconf CLK_TCK)
cli INFO commandstats >"$RF_STACK_DIR/cmdstats"
python3 - "$kind" "$ntasks" "$ms" "$state" "$r0" "$r1" "$w0" "$w1" "$s0" "$s1" "$hz" \
  "$wt0" "$wt1" "$st0" "$st1" "$RF_STACK_DIR/cmdstats" <<'PY'
import sys
kind, n, ms, state = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r0, r1 = float(sys.argv[5]), float(sys.argv[6])
w0, w1, s0, s1, hz = (int(x) for x in sys.argv[7:12])
wt0, wt1, st0, st1 = (int(x) for x in sys.argv[12:16])
us = lambda sec: sec * 1e6 / n
print(f"{kind} {n} tasks: run {state} in {ms} ms = {n * 1000 / ms:.0f} tasks/s")
print(f"per task: redis cpu {us(r1 - r0):.1f} us, workers cpu {us((w1 - w0) / hz):.1f} us, "
      f"scheduler cpu {us((s1 - s0) / hz):.1f} us")
print(f"per task: round trips workers {(wt1 - wt0) / n:.3f}, scheduler {(st1 - st0) / n:.3f}")
rows = []
for line in open(sys.argv[16]):
    if not line.startswith("cmdstat_"):
        continue
    name, rest = line.strip()[8:].split(":", 1)
    f = dict(kv.split("=") for kv in rest.split(","))
    rows.append((float(f["usec"]), name, int(f["calls"]), float(f["usec_per_call"])))
rows.sort(reverse=True)
print(f"{'command':16} {'calls/task':>10} {'usec/task':>10} {'usec/call':>10}")
for usec, name, calls, upc in rows[:14]:
    print(f"{name:16} {calls / n:10.3f} {usec / n:10.2f} {upc:10.2f}")
PY
if [ ${#slow[@]} -gt 0 ]; then
  echo "== SLOWLOG: the scripts (every command logged)"
  cli --json SLOWLOG GET 2000000 >"$RF_STACK_DIR/slowlog.json"
  python3 - "$RF_STACK_DIR/slowlog.json" "$ntasks" <<'PY'
import collections, json, sys
n = int(sys.argv[2])
agg = collections.defaultdict(lambda: [0, 0, ""])
for e in json.load(open(sys.argv[1])):
    args = e[3]
    if args[0].lower() != "evalsha":
        continue
    a = agg[args[1][:8]]
    a[0] += 1
    a[1] += e[2]
    a[2] = a[2] or " ".join(args[3:7])[:70]
for sha, (calls, us, first) in sorted(agg.items(), key=lambda x: -x[1][1])[:10]:
    print(f"  {sha} {calls:6d} calls {us / n:7.2f} us/task {us / calls:9.1f} us/call  {first}")
PY
fi
if [ ${#wrap[@]} -gt 0 ]; then
  RF_KEEP_STACK=1 rf_stack_stop >/dev/null 2>&1
  sleep 0.5
  for f in "$RF_STACK_DIR"/strace.*; do
    echo "== ${f##*/} (syscalls per task = calls / $ntasks)"
    awk -v n="$ntasks" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ && $4 > n / 100 {
      printf "  %-16s %8.3f\n", $NF, $4 / n }' "$f" | sort -k2 -nr | head -8
  done
fi
