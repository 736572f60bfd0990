#!/usr/bin/env bash
# unreachable.sh: a worker started while Redis or S3 cannot be reached
# (a closed port): a clear message, retries with backoff for --retry S, then
# exit 6 so that systemd restarts it; little CPU spent waiting (no busy
# loop); an S3 that comes up within the budget is used; refused S3
# credentials fail at once (exit 5); SIGTERM ends the wait at once.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
. "$RF_ROOT/tests/lib/servers.sh"
rf_stack_init
t=$RF_STACK_DIR/unreach; mkdir -p "$t"
W=$RF_BIN/ruvflow-train-stage
closed=$(rf_free_port)   # nothing listens there

# timed OUT CMD...: runs CMD; OUT.rc, OUT.err, OUT.time ("wall user sys")
timed() {
  local o=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$o.time" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}
within() { awk -v w="$(tail -1 "$1.time" | cut -d' ' -f1)" -v lo="$2" -v hi="$3" 'BEGIN {exit !(w >= lo && w <= hi)}'; }
cheap() { awk -v u="$(tail -1 "$1.time" | cut -d' ' -f2)" -v s="$(tail -1 "$1.time" | cut -d' ' -f3)" 'BEGIN {exit !(u + s < 0.3)}'; }

# --- Redis unreachable ------------------------------------------------------
timed "$t/redis" "$W" serve --redis "redis://127.0.0.1:$closed/0" --retry 2 --store "file://$t/s"
check_eq "Redis closed: exit 6" 6 "$(cat "$t/redis.rc")"
check "Redis closed: gives up after its 2 s, not long after ($(tail -1 "$t/redis.time"))" within "$t/redis" 1.9 4
check "Redis closed: waiting costs little CPU (user+sys < 0.3 s)" cheap "$t/redis"
check "Redis closed: the message names Redis and the deadline" grep -q \
  "redis redis://127.0.0.1:$closed/0 unreachable after 2.0 s" "$t/redis.err"

rf_start_redis
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_REDIS_PREFIX=un$$:
if [ -z "${RF_TEST_S3_BUCKET:-}" ]; then echo "skip - no S3 test stack"; finish; fi
S="s3://$RF_TEST_S3_BUCKET/unreach-$$"

# --- S3 unreachable ----------------------------------------------------------
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$closed timed "$t/s3" "$W" serve --retry 2 --store "$S"
check_eq "S3 closed: exit 6" 6 "$(cat "$t/s3.rc")"
check "S3 closed: gives up after its 2 s, not long after ($(tail -1 "$t/s3.time"))" within "$t/s3" 1.9 4
check "S3 closed: waiting costs little CPU (user+sys < 0.3 s)" cheap "$t/s3"
check "S3 closed: the message names the store and the deadline" grep -q \
  "store $S: unreachable after 2 s: .*127.0.0.1" "$t/s3.err"
check "S3 closed: one warning that it retries, not one per attempt" \
  [ "$(grep -c 'retrying with backoff' "$t/s3.err")" = 1 ]

# --- refused credentials: no retry ---------------------------------------------
AWS_SECRET_ACCESS_KEY=wrong timed "$t/auth" "$W" serve --retry 20 --store "$S"
check_eq "S3 refuses the key: exit 5 at once" 5 "$(cat "$t/auth.rc")"
check "S3 refuses the key: no waiting ($(tail -1 "$t/auth.time"))" within "$t/auth" 0 2
check "S3 refuses the key: the message says so" grep -q "store $S: .*403" "$t/auth.err"

# --- S3 comes up during the wait ----------------------------------------------
late=$(rf_free_port)
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$late "$W" serve --retry 20 --store "$S" 2>"$t/late.err" &
LW=$!; RF_STACK_PIDS+=($LW)
sleep 1
/usr/bin/python3 "$RF_ROOT/tests/tools/sigv4_proxy.py" --listen "$late" \
  --upstream "${RF_TEST_S3_DIRECT##*:}" --region "$AWS_REGION" >"$t/proxy.log" 2>&1 &
RF_STACK_PIDS+=($!)
for _ in $(seq 100); do grep -q 'serving' "$t/late.err" && break; sleep 0.1; done
check "S3 up late: the worker waits, then serves" grep -q "store $S: reachable after" "$t/late.err"
check "S3 up late: still running" kill -0 $LW
kill -TERM $LW; wait $LW
check_eq "S3 up late: SIGTERM drains, exit 0" 0 $?

# --- SIGTERM while waiting ------------------------------------------------------
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$closed "$W" serve --retry 60 --store "$S" 2>"$t/term.err" &
TW=$!; RF_STACK_PIDS+=($TW)
sleep 1
s=$(date +%s%N); kill -TERM $TW; wait $TW; rc=$?
ms=$(( ($(date +%s%N) - s) / 1000000 ))
check "SIGTERM while waiting for S3: exits within 1 s (${ms} ms, rc $rc)" [ $ms -lt 1000 ]
check "SIGTERM while waiting for S3: non-zero (it never served; the pending SIGTERM ends it)" [ $rc -ne 0 ]
finish
