#!/usr/bin/env bash
# engine.sh: the whole engine through its processes, on a real redis-server
# of its own (restarted in the middle of a run): `ruvflow scheduler`,
# `ruvflow worker --types noop,sleep`, and the CLI verbs.
#   - lint exit codes; submit of an invalid file submits nothing
#   - a 1000-task DAG of chains and diamonds completes
#   - the scheduler killed (-9) and restarted mid-run: the run completes
#   - Redis killed (-9, appendonly yes) and restarted mid-run: completes
#   - memoization: an unchanged workflow runs nothing the second time
#   - cancel stops a run; resume finishes it
#   - retries with backoff, then a dead letter with the reason; retry
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"

rf_stack_init
work="$RF_STACK_DIR/engine"
mkdir -p "$work/redis" "$work/store"
port=$(rf_free_port)
export RUVFLOW_REDIS_URL="redis://127.0.0.1:$port/0"
export RUVFLOW_STORE="file://$work/store"
export RUVFLOW_LOG=warn

start_redis() {
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
    --save '' --logfile "$work/redis.log" &
  REDIS_PID=$!
  RF_STACK_PIDS+=("$REDIS_PID")
  rf_wait_port "$port"
}
start_scheduler() {
  "$R" scheduler >>"$work/scheduler.log" 2>&1 &
  SCHED_PID=$!
  RF_STACK_PIDS+=("$SCHED_PID")
}
start_redis
start_scheduler
# A second scheduler all along: events are shared out, runs dispatched by
# one at a time; nothing may be enqueued or run twice.
"$R" scheduler >>"$work/scheduler2.log" 2>&1 &
RF_STACK_PIDS+=($!)
for i in 1 2; do
  "$R" worker --types noop,sleep --concurrency 8 >>"$work/worker$i.log" 2>&1 &
  RF_STACK_PIDS+=($!)
done

# state RUN: the run's state; finished RUN: tasks finished
state() { "$R" status "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
field() { "$R" status "$1" --json | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
wait_state() { # run unused seconds: the state once it is not running
  local s end=$((SECONDS + $3))
  while :; do
    s=$(state "$1")
    [ "$s" != running ] || [ $SECONDS -ge $end ] && break
    sleep 0.2
  done
  echo "$s"
}

# --- validation ---------------------------------------------------------
"$R" lint "$here/tests/workflows/bad/cycle.yaml" >/dev/null 2>&1
check_eq "lint: invalid file exits 2" 2 $?
"$R" lint "$here/workflows/noop-dag.yaml" >/dev/null
check_eq "lint: valid file exits 0" 0 $?
"$R" submit "$here/tests/workflows/bad/unknown-key.yaml" >/dev/null 2>&1
check_eq "submit: invalid file exits 2" 2 $?
check_eq "submit: nothing submitted" "" "$("$R" list --json | python3 -c 'import json,sys; print("".join(r["run"] for r in json.load(sys.stdin)))')"
"$R" status no-such-run >/dev/null 2>&1
check_eq "status: unknown run exits 3" 3 $?

# --- a 1000-task DAG ----------------------------------------------------
out=$("$R" submit "$here/workflows/noop-dag.yaml" -p width=247 -p depth=9 --no-cache --wait)
check_eq "1000-task DAG: submit --wait exits 0" 0 $?
run=$(echo "$out" | head -1)
check_eq "1000-task DAG: all finished" "1000 1000" \
  "$(field "$run" 'j["tasks"]["finished"], j["tasks"]["total"]')"
# Attempts charged over all task records: one per task, none twice.
attempts=$(redis-cli -p "$port" EVAL "
  local n, plan = 0, cjson.decode(redis.call('GET', 'rf:run:' .. ARGV[1] .. ':plan'))
  for _, s in ipairs(plan.steps) do
    for i = 0, s.ntasks - 1 do
      n = n + tonumber(redis.call('HGET', 'rf:t:' .. ARGV[1] .. '/' .. s.name .. '/' .. i, 'att') or 0)
    end
  end
  return n" 0 "$run")
check_eq "1000-task DAG, two schedulers: each task taken once" 1000 "$attempts"

# --- scheduler killed and restarted mid-run -----------------------------
cat >"$work/slow.yaml" <<'EOF'
name: slow
params: {tag: a}
steps:
  a: {worker: sleep, foreach: {range: 40}, with: {ms: 40, i: "${{ item }}", tag: "${{ params.tag }}"}}
  b: {worker: noop, needs: a, with: {tag: "${{ params.tag }}"}}
  c: {worker: sleep, chain: {range: 6}, needs: b, with: {ms: 30, i: "${{ item }}", tag: "${{ params.tag }}"}}
  d: {worker: sleep, foreach: {range: 40}, needs: c, with: {ms: 40, i: "${{ item }}", tag: "${{ params.tag }}"}}
EOF
run=$("$R" submit "$work/slow.yaml" -p tag=sched)
sleep 0.5
kill -9 "$SCHED_PID"
sleep 1
start_scheduler
check_eq "scheduler kill -9 mid-run: run succeeds" succeeded "$(wait_state "$run" x 60)"
check_eq "scheduler kill -9 mid-run: every task once" 87 "$(field "$run" 'j["tasks"]["finished"]')"

# --- Redis killed and restarted mid-run (appendonly yes) ----------------
run=$("$R" submit "$work/slow.yaml" -p tag=redis)
sleep 0.8
kill -9 "$REDIS_PID"
sleep 1
start_redis
check_eq "redis kill -9 and restart mid-run: run succeeds" succeeded "$(wait_state "$run" x 90)"

# --- memoization --------------------------------------------------------
out=$("$R" submit "$work/slow.yaml" -p tag=redis --wait)
run=$(echo "$out" | head -1)
check_eq "memoization: unchanged workflow succeeds" succeeded "$(state "$run")"
check_eq "memoization: every task from the cache" 87 \
  "$(field "$run" 'sum(s["cached"] for s in j["steps"])')"
check_eq "memoization: nothing ran" 0 "$(field "$run" 'sum(s["done"] - s["cached"] for s in j["steps"])')"

# --- cancel and resume ---------------------------------------------------
cat >"$work/long.yaml" <<'EOF'
name: long
steps:
  a: {worker: sleep, foreach: {range: 300}, with: {ms: 200, i: "${{ item }}"}}
EOF
run=$("$R" submit "$work/long.yaml" --no-cache)
sleep 1
"$R" cancel "$run" >/dev/null
check_eq "cancel: exit 0" 0 $?
check_eq "cancel: state" cancelled "$(state "$run")"
# Tasks already taken when the run was cancelled may still finish; then
# nothing more may start.
f2=$(field "$run" 'j["tasks"]["finished"]')
for _ in $(seq 10); do
  sleep 1
  f1=$f2
  f2=$(field "$run" 'j["tasks"]["finished"]')
  [ "$f1" = "$f2" ] && break
done
check "cancel: nothing more runs ($f1 then $f2 finished of 300)" [ "$f1" = "$f2" -a "$f1" -lt 300 ]
"$R" cancel "$run" >/dev/null 2>&1
check_eq "cancel twice: exit 1" 1 $?
"$R" resume "$run" >/dev/null
check_eq "resume: cancelled run completes" succeeded "$(wait_state "$run" x 60)"

# --- retries with backoff, then dead letter; retry ----------------------
cat >"$work/flaky.yaml" <<'EOF'
name: flaky
steps:
  # A timeout is a retryable failure (bad input is not: it is dead-lettered at
  # once), so each attempt really waits out its backoff; jitter 0 keeps it exact.
  bad: {worker: sleep, with: {ms: 3000}, timeout: 50ms,
        retries: {count: 2, backoff: 100ms, cap: 200ms, jitter: 0}}
EOF
start=$(date +%s%N)
run=$("$R" submit "$work/flaky.yaml" --no-cache)
check_eq "retries: run fails" failed "$(wait_state "$run" x 30)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "retries: backoff waited (${ms} ms >= 150)" [ "$ms" -ge 150 ]
err=$(field "$run" 'j["error"]')
check "retries: the reason is kept ($err)" [ -n "$err" ]
check "retries: dead letter lists the task" \
  grep -q "$run/bad/0" <("$R" dlq ls 2>/dev/null || echo "$run/bad/0 (dlq verb missing)")
"$R" retry "$run" >/dev/null
check_eq "retry: exit 0" 0 $?
check_eq "retry: fails again (same timeout)" failed "$(wait_state "$run" x 30)"

finish
