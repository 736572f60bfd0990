#!/usr/bin/env bash
# queue_cli.sh: `ruvflow queues`, `workers`, `dlq` and `worker` end to end on
# the redis-server of tests/run.sh. A record written by hand (as a buggy or
# older producer might) lands in the dead letters with its reason.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
RF=$RF_BIN/ruvflow
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_REDIS_PREFIX="cli$$:"
P=$RUVFLOW_REDIS_PREFIX
rcli() { redis-cli -p "$RF_REDIS_PORT" "$@"; }

check_eq "no queues yet" '{"queues":[],"pools":[]}' "$($RF queues --json | tr -d ' \n')"

# Two hand-written records: one good, one whose params are not JSON.
for id in good bad; do
  params='{"ms":"1"}'; [ $id = bad ] && params='{oops}'
  rcli HSET "${P}t:$id" run r step s idx 0 type sleep pool default prio 0 params "$params" \
    inputs '{}' tier hot tmo 0 maxa 3 bo 1000 bomax 60000 st ready att 0 tok 0 seq 1 enq 0 >/dev/null
  rcli ZADD "${P}q:default:sleep:ready" 1 "$id" >/dev/null
done
rcli SADD "${P}queues" default/sleep >/dev/null

$RF worker --types sleep,noop --lease 1000 2>"$RF_STACK_DIR/cli-worker.log" &
W=$!
for _ in $(seq 100); do
  [ "$(rcli HGET "${P}t:good" st)" = done ] && [ "$(rcli HGET "${P}t:bad" st)" = dead ] && break
  sleep 0.05
done
check_eq "good record committed" done "$(rcli HGET "${P}t:good" st)"
check_eq "bad record dead-lettered" dead "$(rcli HGET "${P}t:bad" st)"
check "workers lists the worker" bash -c "$RF workers --json | grep -q '\"pid\": $W'"
check "workers table" bash -c "$RF workers | grep -q 'sleep,noop'"
kill -TERM $W; wait $W
check_eq "worker exits 0 on SIGTERM" 0 $?

q=$($RF queues --json | tr -d ' \n')
check_eq "queues counts" '{"queues":[{"pool":"default","type":"sleep","ready":0,"delayed":0,"in_flight":0,"dead":1,"oldest_age_s":0.0}],"pools":[{"pool":"default","waiting":0,"in_flight":0,"workers":0,"slots":1,"desired_workers":0}]}' "$q"
ls=$($RF dlq ls --json)
check "dlq ls names the task" grep -q '"id": "bad"' <<<"$ls"
check "dlq ls gives the reason" grep -q 'malformed record: params is not a JSON object' <<<"$ls"
check "dlq table" bash -c "$RF dlq ls | grep -q 'default/sleep'"
check_eq "dlq requeue" '{"requeued": 1}' "$($RF dlq requeue bad --json)"
check_eq "requeued task is ready" ready "$(rcli HGET "${P}t:bad" st)"
rcli HSET "${P}t:bad" st dead >/dev/null   # put it back by hand for drop
rcli ZADD "${P}q:default:sleep:dead" 1 bad >/dev/null
rcli ZREM "${P}q:default:sleep:ready" bad >/dev/null
check_eq "dlq drop" '{"dropped": 1}' "$($RF dlq drop bad --json)"
check_eq "dropped record is gone" 0 "$(rcli EXISTS "${P}t:bad")"
$RF dlq drop nosuch >/dev/null 2>&1
check_eq "dlq drop of a live id exits 3" 3 $?
$RF dlq frobnicate >/dev/null 2>&1
check_eq "unknown dlq subcommand exits 2" 2 $?
$RF worker --types gpu-magic >/dev/null 2>&1
check_eq "unknown built-in type exits 2" 2 $?

out=$($RF queues --redis redis://someone:topsecret@127.0.0.1:1/0 2>&1)
check_eq "unreachable Redis exits 6" 6 $?
check "unreachable message is clear" grep -q 'unreachable after' <<<"$out"
check "password never printed" bash -c "! grep -q topsecret <<<'$out'"

# After `ruvflow up` (simulated: the URL it records), the queue verbs and
# `ruvflow worker` find its Redis as the run verbs do, without the env.
stack=$(mktemp -d "$RF_STACK_DIR/stack-XXXXXX")
mkdir -p "$stack/.ruvflow" && echo "$RF_TEST_REDIS_URL" >"$stack/.ruvflow/redis.url"
(cd "$stack" && unset RUVFLOW_REDIS_URL && exec $RF worker --types noop --lease 1000) \
  2>"$RF_STACK_DIR/cli-worker2.log" &
W=$!
for _ in $(seq 100); do
  RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL $RF workers --json | grep -q "\"pid\": $W" && break
  sleep 0.05
done
check "worker finds the stack's Redis" bash -c "cd '$stack' && unset RUVFLOW_REDIS_URL && \
  $RF workers --json | grep -q '\"pid\": $W'"
check "queues finds the stack's Redis" bash -c "cd '$stack' && unset RUVFLOW_REDIS_URL && \
  $RF queues --json | grep -q '\"pool\": \"default\"'"
check "dlq finds the stack's Redis" bash -c "cd '$stack' && unset RUVFLOW_REDIS_URL && \
  $RF dlq ls --json >/dev/null"
kill -TERM $W; wait $W

rcli --scan --pattern "${P}*" | xargs -r redis-cli -p "$RF_REDIS_PORT" DEL >/dev/null
finish
