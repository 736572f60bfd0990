#!/usr/bin/env bash
# ops.sh: deploying and watching a pool. `make install` (DESTDIR honoured)
# installs binaries, man page and units; `systemd-analyze verify` passes on
# every unit (and fails on a broken one); `ruvflow config check-env` fails a
# wrong EnvironmentFile with the key's name; workers and the scheduler are
# started through the installed units' own ExecStart lines and env files
# (tests/lib/unit_exec.py); a 200-task workflow of real preprocess, train
# and eval tasks runs; /metrics is parsed by prometheus_client's parser
# before and after; a worker gets a real SIGTERM mid-task and drains.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
. "$RF_ROOT/tests/lib/servers.sh"
rf_stack_init
t=$RF_STACK_DIR/ops; mkdir -p "$t"
UX=$RF_ROOT/tests/lib/unit_exec.py

# --- install -------------------------------------------------------------
make -s -C "$RF_ROOT" install DESTDIR="$t/dest" PREFIX=/usr BUILD="${BUILD:-build}" \
  >"$t/install.log" 2>&1
check_eq "make install DESTDIR exits 0" 0 $?
for f in usr/bin/ruvflow usr/bin/ruvflow-train-stage usr/share/man/man1/ruvflow.1 \
         usr/lib/systemd/system/ruvflow-worker@.service \
         usr/lib/systemd/system/ruvflow-scheduler.service \
         usr/share/doc/ruvflow/ruvflow.env.example; do
  check "installed $f" [ -f "$t/dest/$f" ]
done
check "units name PREFIX/bin, not DESTDIR" grep -q '^ExecStart=/usr/bin/ruvflow-%i serve' \
  "$t/dest/usr/lib/systemd/system/ruvflow-worker@.service"
P=$t/prefix
make -s -C "$RF_ROOT" install PREFIX="$P" SYSCONFDIR="$t/etc" BUILD="${BUILD:-build}" \
  >>"$t/install.log" 2>&1
U=$P/lib/systemd/system

# --- systemd-analyze verify ---------------------------------------------
verify() { (cd "$U" && MANPATH=$P/share/man systemd-analyze verify "./$1") >"$t/verify.out" 2>&1 \
  && [ ! -s "$t/verify.out" ]; }
for u in ruvflow-scheduler.service ruvflow-worker@preprocess.service \
         ruvflow-worker@train-stage.service ruvflow-worker@eval-fold.service; do
  check "systemd-analyze verify $u" verify "$u"
done
check_fails "verify fails for a worker type with no binary" verify ruvflow-worker@nosuch.service
sed 's/^ProtectSystem=strict/ProtectSystem=strickt/' "$U/ruvflow-scheduler.service" \
  >"$U/ruvflow-broken.service"
check_fails "verify fails on a misspelt value" verify ruvflow-broken.service
rm -f "$U/ruvflow-broken.service"

# --- check-env -----------------------------------------------------------
mkdir -p "$t/etc/ruvflow"
check "the example env file passes" "$P/bin/ruvflow" config check-env \
  "$P/share/doc/ruvflow/ruvflow.env.example"
printf 'RUVFLOW_REDIS_URL=redis://127.0.0.1:1/0\nRUVFLOW_REDIS_ULR=x\n' >"$t/etc/ruvflow/ruvflow.env"
out=$("$UX" "$U/ruvflow-worker@.service" train-stage --map "$t/etc/ruvflow=$t/etc/ruvflow" 2>&1)
check_eq "a wrong key fails the unit's start (exit 2)" 2 $?
check "the message names the key, file and line" grep -q \
  'ruvflow.env:2:1: unknown key RUVFLOW_REDIS_ULR (did you mean RUVFLOW_REDIS_URL?)' <<<"$out"
printf 'RUVFLOW_CONCURRENCY=lots\n' >"$t/etc/ruvflow/bad.env"
check_fails "a bad value fails" "$P/bin/ruvflow" config check-env "$t/etc/ruvflow/bad.env"
printf 'RUVFLOW_POOL="unterminated\n' >"$t/etc/ruvflow/bad.env"
out=$("$P/bin/ruvflow" config check-env "$t/etc/ruvflow/bad.env" 2>&1)
check "a bad quote names FILE:LINE:COL" grep -q 'bad.env:1:14: unterminated double quote' <<<"$out"

# --- unreachable Redis at start: backoff, then exit so systemd restarts --
printf 'RUVFLOW_REDIS_URL=redis://127.0.0.1:1/0\nRUVFLOW_RETRY_S=1\n' >"$t/etc/ruvflow/ruvflow.env"
s=$(date +%s%N)
out=$("$UX" "$U/ruvflow-worker@.service" train-stage --map "$t/etc/ruvflow=$t/etc/ruvflow" 2>&1)
rc=$?; ms=$(( ($(date +%s%N) - s) / 1000000 ))
check_eq "worker with no Redis exits 6 (Restart=on-failure restarts it)" 6 $rc
check "after its retry deadline, not before (${ms} ms)" [ $ms -ge 900 ]
check "the message says unreachable" grep -q 'unreachable after' <<<"$out"

# --- a pool started from the units ---------------------------------------
rf_start_redis
mport=$(rf_free_port)
cat >"$t/etc/ruvflow/ruvflow.env" <<ENV
RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL
RUVFLOW_REDIS_PREFIX=ops$$:
RUVFLOW_STORE=file://$t/store
RUVFLOW_METRICS_ADDR=127.0.0.1:$mport
RUVFLOW_CONCURRENCY=2
RUVFLOW_GRACE_S=20
RUVFLOW_SCALE_SLOTS=2
RUVFLOW_LOG=warn
ENV
start_unit() { # unit instance log
  "$UX" "$U/$1" "$2" --map "$t/etc/ruvflow=$t/etc/ruvflow" >>"$t/$3.log" 2>&1 &
  RF_STACK_PIDS+=($!)
}
start_unit ruvflow-scheduler.service x scheduler
SCHED=$!
rf_wait_port "$mport" 10
check "port in use: a second scheduler's metrics fail clearly" bash -c \
  "'$UX' '$U/ruvflow-scheduler.service' x --map '$t/etc/ruvflow=$t/etc/ruvflow' 2>&1 | \
   grep -q 'metrics: cannot listen on 127.0.0.1:$mport: Address already in use'"
parse() { /usr/bin/python3 - "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
v = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        key = s.name + "".join("|%s=%s" % kv for kv in sorted(s.labels.items()))
        v[key] = s.value
for k in sorted(v): print(k, v[k])
PY
}
curl -sf "http://127.0.0.1:$mport/metrics" -o "$t/before.prom"
parse "$t/before.prom" >"$t/before.txt"
check_eq "metrics before: parser accepts the text" 0 $?
check "metrics before: build info" grep -q '^ruvflow_build_info|version=' "$t/before.txt"

# Submit first, so the ready queues are full when the workers arrive.
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_REDIS_PREFIX=ops$$:
data=$(realpath "$RF_ROOT/workflows/data/fann/diabetes.train")
run=$("$RF_BIN/ruvflow" submit "$RF_ROOT/tests/integration/data/pool200.yaml" -p data="$data" \
  -p epochs=40 2>>"$t/submit.log" | head -1)
for _ in $(seq 100); do
  "$RF_BIN/ruvflow" queues --json --slots 2 >"$t/q.json" 2>/dev/null
  jq -e '.pools[0].waiting >= 1' "$t/q.json" >/dev/null 2>&1 && break; sleep 0.05
done
check "queues --json: waiting and desired workers per pool" jq -e \
  '.pools[0].pool == "default" and .pools[0].waiting >= 1 and .pools[0].slots == 2 and
   .pools[0].desired_workers == ((.pools[0].waiting + .pools[0].in_flight + 1) / 2 | floor)' "$t/q.json"
for w in preprocess train-stage eval-fold; do start_unit "ruvflow-worker@.service" $w $w; done
# A second train-stage worker, told to stop mid-task (scale-in / spot notice).
"$UX" "$U/ruvflow-worker@.service" train-stage --map "$t/etc/ruvflow=$t/etc/ruvflow" \
  >>"$t/drain.log" 2>&1 &
DRAIN=$!; RF_STACK_PIDS+=($DRAIN)
for _ in $(seq 200); do
  "$RF_BIN/ruvflow" workers --json 2>/dev/null | jq -e ".[] | select(.pid == $DRAIN and .current != \"\")" \
    >/dev/null 2>&1 && break; sleep 0.05
done
kill -TERM $DRAIN; wait $DRAIN
check_eq "SIGTERM mid-task: the worker drains and exits 0" 0 $?
check "the drained worker left the registry" bash -c "! $RF_BIN/ruvflow workers --json | jq -e '.[] | select(.pid == $DRAIN)' >/dev/null"

for _ in $(seq 2400); do
  st=$("$RF_BIN/ruvflow" status "$run" --json 2>/dev/null | jq -r .state)
  [ "$st" = running ] || break; sleep 0.1
done
check_eq "200-task workflow succeeds" succeeded "$st"
redis-cli -p "$RF_REDIS_PORT" --raw XRANGE "ops$$:events" - + | awk '{a[NR]=$0} END {
  for (i = 1; i <= NR; i++) if (a[i]=="ev" && a[i+1]=="done" && a[i+2]=="task") print a[i+3] }' \
  >"$t/done.txt"
check_eq "200 done events" 200 "$(wc -l <"$t/done.txt")"
check_eq "every task committed exactly once" 200 "$(sort -u "$t/done.txt" | wc -l)"
sleep 1.5  # the tailer's block is 1 s
curl -sf "http://127.0.0.1:$mport/metrics" -o "$t/after.prom"
parse "$t/after.prom" >"$t/after.txt"
check_eq "metrics after: parser accepts the text" 0 $?
sum() { awk -v m="$1" -F' ' 'index($1, m"|")==1 {s+=$2} END {print s+0}' "$t/after.txt"; }
check_eq "metrics after: 200 completed" 200 "$(sum ruvflow_tasks_completed_total)"
check_eq "metrics after: 200 durations observed" 200 "$(sum ruvflow_task_duration_seconds_count)"
check_eq "metrics after: nothing waiting" 0 "$(sum ruvflow_pool_waiting_tasks)"
check "metrics after: scheduler round trips counted" \
  grep -Eq '^ruvflow_redis_round_trips_total\|conn=scheduler [1-9]' "$t/after.txt"
check "metrics: unknown path is 404" bash -c \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$mport/nope)\" = 404 ]"
finish
