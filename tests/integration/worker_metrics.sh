#!/usr/bin/env bash
# worker_metrics.sh: each worker's own /metrics (--metrics ADDR), on real
# redis-server and s3rver (behind the SigV4 proxy): a small real workflow
# (preprocess, 3 train-stage, 3 eval-fold + aggregate) with its outputs in
# S3; every worker's text is parsed by prometheus_client's parser and
# shows its tasks by outcome, durations, in flight, Redis round trips and
# S3 requests/bytes. A metrics port in use fails clearly; a worker frozen
# (SIGSTOP) past its lease and the scheduler's reaping (every 2 s) counts the expiry it finds on waking.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
. "$RF_ROOT/tests/lib/servers.sh"
rf_stack_init
t=$RF_STACK_DIR/wm; mkdir -p "$t"
R=$RF_BIN/ruvflow
if [ -z "${RF_TEST_S3_BUCKET:-}" ]; then echo "skip - no S3 test stack"; finish; fi
rf_start_redis
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_REDIS_PREFIX=wm$$:
export RUVFLOW_STORE="s3://$RF_TEST_S3_BUCKET/wm-$$" RUVFLOW_LOG=warn
"$R" scheduler >>"$t/scheduler.log" 2>&1 &
RF_STACK_PIDS+=($!)

declare -A port
for w in preprocess train-stage eval-fold; do
  port[$w]=$(rf_free_port)
  "$RF_BIN/ruvflow-$w" serve --concurrency 2 --metrics "127.0.0.1:${port[$w]}" \
    >>"$t/$w.log" 2>&1 &
  RF_STACK_PIDS+=($!)
  rf_wait_port "${port[$w]}" 10
done
out=$("$RF_BIN/ruvflow-train-stage" serve --metrics "127.0.0.1:${port[train-stage]}" 2>&1)
rc=$?
check "port in use: the worker exits non-zero ($rc)" [ $rc -ne 0 ]
check "port in use: the message names the address" grep -q \
  "metrics: cannot listen on 127.0.0.1:${port[train-stage]}: Address already in use" <<<"$out"
check "metrics are off by default (no listener named in the log)" bash -c \
  "! grep -q 'metrics on' '$t/preprocess.log'"

data=$(realpath "$RF_ROOT/workflows/data/fann/diabetes.train")
run=$("$R" submit "$RF_ROOT/tests/integration/data/pool200.yaml" -p data="$data" -p n=3 \
  -p epochs=5 2>>"$t/submit.log" | head -1)
for _ in $(seq 600); do
  st=$("$R" status "$run" --json 2>/dev/null | jq -r .state)
  [ "$st" = running ] || break; sleep 0.1
done
check_eq "the 8-task workflow succeeds" succeeded "$st"

parse() { /usr/bin/python3 - "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        print(s.name + "".join("|%s=%s" % kv for kv in sorted(s.labels.items())), s.value)
PY
}
val() { awk -v k="$2" '$1 == k {print $2 + 0; f=1} END {if (!f) print "missing"}' "$t/$1.txt"; }
for w in preprocess train-stage eval-fold; do
  curl -sf "http://127.0.0.1:${port[$w]}/metrics" -o "$t/$w.prom"
  parse "$t/$w.prom" >"$t/$w.txt"
  check_eq "$w: prometheus_client parses /metrics" 0 $?
done
check_eq "preprocess: 1 task succeeded" 1 \
  "$(val preprocess 'ruvflow_worker_tasks_total|outcome=succeeded|pool=default|type=preprocess')"
check_eq "train-stage: 3 tasks succeeded" 3 \
  "$(val train-stage 'ruvflow_worker_tasks_total|outcome=succeeded|pool=default|type=train-stage')"
check_eq "eval-fold: 4 tasks succeeded (3 folds + aggregate)" 4 \
  "$(val eval-fold 'ruvflow_worker_tasks_total|outcome=succeeded|pool=default|type=eval-fold')"
check_eq "train-stage: 3 durations observed" 3 \
  "$(val train-stage 'ruvflow_worker_task_duration_seconds_count|pool=default|type=train-stage')"
check_eq "train-stage: nothing in flight after the run" 0 \
  "$(val train-stage 'ruvflow_worker_tasks_in_flight|pool=default')"
check_eq "train-stage: no retries" 0 \
  "$(val train-stage 'ruvflow_worker_task_retries_total|pool=default|type=train-stage')"
gt0() { local v; v=$(val "$1" "$2"); [ "$v" != missing ] && awk -v v="$v" 'BEGIN {exit !(v > 0)}'; }
for w in preprocess train-stage eval-fold; do
  check "$w: Redis round trips counted" gt0 $w 'ruvflow_redis_round_trips_total|conn=worker'
  check "$w: S3 PUTs counted (outputs)" gt0 $w 'ruvflow_s3_requests_total|method=PUT'
  check "$w: S3 bytes sent counted" gt0 $w 'ruvflow_s3_sent_bytes_total'
  check "$w: S3 latencies observed" gt0 $w 'ruvflow_s3_request_duration_seconds_count'
done
check "train-stage: S3 GETs and bytes received (the dataset input)" \
  gt0 train-stage 'ruvflow_s3_received_bytes_total'
check_eq "train-stage: no S3 errors" 0 "$(val train-stage 'ruvflow_s3_errors_total|method=GET')"
check "unknown path is 404" bash -c \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${port[eval-fold]}/nope)\" = 404 ]"

# --- a frozen worker finds its lease expired ------------------------------
cat >"$t/sleep.yaml" <<'YAML'
name: frozen
steps:
  s: {worker: sleep, with: {ms: 5000}, retries: {count: 3, backoff: 100ms}}
YAML
sp=$(rf_free_port)
"$R" worker --types sleep --lease 300 --metrics "127.0.0.1:$sp" >>"$t/sleep.log" 2>&1 &
SW=$!; RF_STACK_PIDS+=($SW)
rf_wait_port "$sp" 10
run=$("$R" submit "$t/sleep.yaml" 2>>"$t/submit.log" | head -1)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$sp/metrics" | grep -q '^ruvflow_worker_tasks_in_flight{pool="default"} 1' \
    && break; sleep 0.05
done
kill -STOP $SW; sleep 3.5; kill -CONT $SW
for _ in $(seq 100); do
  st=$("$R" status "$run" --json 2>/dev/null | jq -r .state)
  [ "$st" = running ] || break; sleep 0.1
done
check_eq "the frozen worker's task still succeeds (re-run after expiry)" succeeded "$st"
curl -sf "http://127.0.0.1:$sp/metrics" -o "$t/sleep.prom"; parse "$t/sleep.prom" >"$t/sleep.txt"
check "the frozen worker counted the lease expiry it found" \
  gt0 sleep 'ruvflow_worker_lease_expiries_total|pool=default|type=sleep'
finish
