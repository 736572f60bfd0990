#!/usr/bin/env bash
# cron.sh: scheduled submission through the real processes, on a
# redis-server of its own: `ruvflow cron add|ls|rm` and two `ruvflow
# scheduler`s firing the same schedule. The cron "minute" is shortened to
# one second with the test-only RUVFLOW_CRON_TICK_MS=1000 (docs/ruvflow.1):
#   - bad expressions and workflows are refused (exit 2), nothing stored
#   - `* * * * *` for ~8 ticks: exactly one submission per tick across both
#     schedulers (no tick twice, none skipped), and every run succeeds
#   - `*/2 * * * *` fires on even ticks only; rm stops a schedule
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"

rf_stack_init
work="$RF_STACK_DIR/cron"
mkdir -p "$work/store"
port=$(rf_free_port)
export RUVFLOW_REDIS_URL="redis://127.0.0.1:$port/0"
export RUVFLOW_STORE="file://$work/store"
export RUVFLOW_LOG=info RUVFLOW_CRON_TICK_MS=1000
redis-server --port "$port" --bind 127.0.0.1 --save '' --logfile "$work/redis.log" &
RF_STACK_PIDS+=($!)
rf_wait_port "$port"

cat >"$work/tick.yaml" <<'YAML'
name: tick
params: {who: nobody}
steps:
  a: {worker: noop, with: {who: "${{ params.who }}"}}
YAML
"$R" cron add '* * * *' "$work/tick.yaml" >/dev/null 2>"$work/bad.err"
check_eq "4 fields: exit 2" 2 $?
check "4 fields: says how many" grep -q '4 fields; expected 5' "$work/bad.err"
"$R" cron add '61 * * * *' "$work/tick.yaml" >/dev/null 2>"$work/bad.err"
check_eq "minute 61: exit 2" 2 $?
check "minute 61: names the field and column" \
  grep -q 'column 1, minute field: 61-61 is outside 0-59' "$work/bad.err"
"$R" cron add '* * * * *' "$work/tick.yaml" -p nope=1 >/dev/null 2>"$work/bad.err"
check_eq "unknown parameter: exit 2" 2 $?
check_eq "nothing stored" "" "$("$R" cron ls --json 2>&1)"

for i in 1 2; do
  "$R" scheduler >>"$work/scheduler$i.log" 2>&1 &
  RF_STACK_PIDS+=($!)
done
"$R" worker --types noop --concurrency 4 >>"$work/worker.log" 2>&1 &
RF_STACK_PIDS+=($!)

every=$("$R" cron add '* * * * *' "$work/tick.yaml" -p who=cron)
check "add prints an id" test -n "$every"
even=$("$R" cron add '*/2 * * * *' "$work/tick.yaml" -p who=even)
sleep 8.5
"$R" cron ls >"$work/ls.out"
check "ls shows the schedule" grep -q "^$every  *\* \* \* \* \*" "$work/ls.out"
"$R" cron rm "$every" >/dev/null
check_eq "rm: exit 0" 0 $?
"$R" cron rm "$even" >/dev/null
"$R" cron rm "$every" >/dev/null 2>&1
check_eq "rm again: exit 3" 3 $?
sleep 1.5   # a firing in flight lands; nothing fires after rm

# The firing log of each schedule (newest first) and the runs.
log_ticks() { redis-cli -p "$port" LRANGE "rf:cron:log:$1" 0 -1 | jq -r '.tick' | sort -n; }
ticks=$(log_ticks "$every")
n=$(echo "$ticks" | grep -c .)
check "every tick: at least 7 firings in 8.5 s ($n)" test "$n" -ge 7
check_eq "every tick: no tick fired twice" "$n" "$(echo "$ticks" | sort -u | grep -c .)"
gaps=$(echo "$ticks" | awk 'NR > 1 && $1 - p != 1000 {g++} {p = $1} END {print g + 0}')
check_eq "every tick: none skipped" 0 "$gaps"
by=$(grep -ho 'cron [^ ]* ([^)]*): submitted' "$work"/scheduler*.log | grep -c "$every")
check_eq "every tick: one submission per firing, across both schedulers" "$n" "$by"
echo "# submissions by scheduler: $(grep -c 'submitted' "$work"/scheduler1.log) and $(grep -c 'submitted' "$work"/scheduler2.log)"
check "both schedulers took part (or one did all: still once per tick)" \
  test "$(grep -l "cron $every" "$work"/scheduler*.log | wc -l)" -ge 1
etick=$(log_ticks "$even")
check "*/2: only even ticks" bash -c "echo '$etick' | awk '\$1 % 2000 != 0 {exit 1}'"
check "*/2: fired" test -n "$etick"
runs=$("$R" list --limit 200 --json | jq -r '.[].run' 2>/dev/null | grep -c '^tick-')
check_eq "a run per firing" $((n + $(echo "$etick" | grep -c .))) "$runs"
sleep 1
notdone=$("$R" list --limit 200 --json | jq -r '.[] | select(.state != "succeeded") | .run' | grep -c .)
check_eq "every run succeeded" 0 "$notdone"
finish
