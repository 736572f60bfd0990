#!/usr/bin/env bash
# delete_retention: `ruvflow delete RUN [--outputs] [--force]` and
# per-workflow retention (`retention: {runs: N} | {days: D}`) on a real
# redis-server of its own, with `ruvflow scheduler`, `ruvflow worker` and
# the real preprocess worker writing outputs into a file:// store.
#   - delete forgets every key of a run (run, plan, steps, task records);
#     exit 3 for no such run, 1 for a running run, --force cancels it first
#   - --outputs deletes only objects no other run references: a cached run
#     keeps its source's objects alive; the cache entries of a deleted run go
#     too, so a later run is not served dangling URLs
#   - retention runs: 2 keeps the two newest finished runs of the name;
#     days: D deletes finished runs created more than D days ago
#   - bad retention values are lint errors with FILE:LINE:COL, exit 2
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"

rf_stack_init
work="$RF_STACK_DIR/delete"
mkdir -p "$work/store"
port=$(rf_free_port)
export RUVFLOW_REDIS_URL="redis://127.0.0.1:$port/0"
export RUVFLOW_STORE="file://$work/store"
export RUVFLOW_LOG=warn
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "$work/redis.log" &
RF_STACK_PIDS+=($!)
rf_wait_port "$port"
"$R" scheduler >>"$work/scheduler.log" 2>&1 &
RF_STACK_PIDS+=($!)
"$R" worker --types noop,sleep --concurrency 4 >>"$work/worker.log" 2>&1 &
RF_STACK_PIDS+=($!)
"$RF_BIN/ruvflow-preprocess" serve >>"$work/preprocess.log" 2>&1 &
RF_STACK_PIDS+=($!)

rcli() { redis-cli -p "$port" "$@"; }
state() { "$R" status "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
cached() { "$R" status "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"][0]["cached"])'; }
nkeys() { rcli --scan --pattern "$1" | wc -l; }
# The run id of a submit --wait (read whole: `| head -1` would end the wait).
submit_wait() { local out; out=$("$R" submit "$@" --wait); head -1 <<<"$out"; }

# --- delete -----------------------------------------------------------------
cat >"$work/small.yaml" <<'YAML'
name: small
steps:
  a: {worker: noop, foreach: {range: 5}, with: {i: "${{ item }}"}}
  b: {worker: noop, needs: a}
YAML
run=$(submit_wait "$work/small.yaml" --no-cache)
check_eq "a finished run to delete" succeeded "$(state "$run")"
check "it has run keys and 6 task records before" \
  test "$(nkeys "rf:run:$run*")" -gt 0 -a "$(nkeys "rf:t:$run/*")" -eq 6
out=$("$R" delete "$run"); rc=$?
check_eq "delete: exit 0" 0 "$rc"
check_eq "delete: says so" "run $run: deleted" "$out"
check_eq "delete: no run keys left" 0 "$(nkeys "rf:run:$run*")"
check_eq "delete: no task records left" 0 "$(nkeys "rf:t:$run/*")"
check_eq "delete: not listed" "" "$(rcli zscore rf:runs "$run")"
"$R" status "$run" >/dev/null 2>&1
check_eq "delete: status is then exit 3" 3 $?
"$R" delete "$run" >/dev/null 2>&1
check_eq "delete of no such run: exit 3" 3 $?
"$R" delete >/dev/null 2>&1
check_eq "delete without RUN: exit 2" 2 $?

cat >"$work/long.yaml" <<'YAML'
name: long
steps:
  a: {worker: sleep, foreach: {range: 20}, with: {ms: 3000, i: "${{ item }}"}}
YAML
run=$("$R" submit "$work/long.yaml" --no-cache)
sleep 0.5
out=$("$R" delete "$run" 2>&1); rc=$?
check_eq "delete of a running run: exit 1" 1 "$rc"
check "delete of a running run: says how" grep -q "is running: cancel it first" <<<"$out"
check_eq "delete of a running run: the run is still there" running "$(state "$run")"
"$R" delete "$run" --force >/dev/null
check_eq "delete --force: exit 0" 0 $?
check_eq "delete --force: gone" 0 "$(nkeys "rf:run:$run*")"

# --- delete --outputs ---------------------------------------------------------
cat >"$work/prep.yaml" <<YAML
name: prep
steps:
  prep:
    worker: preprocess
    inputs: {sessions: $here/workflows/data/sessions}
    with: {task: tool-selection}
YAML
urls() { "$R" outputs "$1" prep --json | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    for v in t["outputs"].values():
        for u in (v if isinstance(v, list) else [v]): print(u)'; }
path() { echo "${1#file://}"; }
A=$(submit_wait "$work/prep.yaml")
check_eq "run A (preprocess) succeeds" succeeded "$(state "$A")"
mapfile -t ua < <(urls "$A")
check "run A has output objects" test "${#ua[@]}" -gt 0
check "A's first object exists" test -f "$(path "${ua[0]}")"
B=$(submit_wait "$work/prep.yaml")
check_eq "run B is served from the cache" 1 "$(cached "$B")"
check_eq "B references A's objects" "${ua[*]}" "$(urls "$B" | tr '\n' ' ' | sed 's/ $//')"
out=$("$R" delete "$A" --outputs); rc=$?
check_eq "delete A --outputs: exit 0" 0 "$rc"
check "delete A --outputs: no object deleted (B references them), A's cache entry is" \
  grep -q "with 0 output object(s) and 1 cache entry" <<<"$out"
for u in "${ua[@]}"; do
  check "still there: ${u##*/}" test -f "$(path "$u")"
done
out=$("$R" delete "$B" --outputs --json); rc=$?
check_eq "delete B --outputs: exit 0" 0 "$rc"
check_eq "delete B --outputs: every object" "${#ua[@]}" \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs_deleted"])' <<<"$out")"
for u in "${ua[@]}"; do
  check "deleted: ${u##*/}" test ! -e "$(path "$u")"
done
C=$(submit_wait "$work/prep.yaml")
check_eq "a later run is not served the deleted objects: it succeeds" succeeded "$(state "$C")"
check_eq "... not from the cache" 0 "$(cached "$C")"
check "... and its outputs exist again" test -f "$(path "$(urls "$C" | head -1)")"

# --- retention ------------------------------------------------------------------
cat >"$work/keep2.yaml" <<'YAML'
name: keep2
retention: {runs: 2}
steps:
  a: {worker: noop}
YAML
runs=()
for i in 1 2 3 4; do runs+=("$(submit_wait "$work/keep2.yaml" --no-cache)"); done
end=$((SECONDS + 20))
while [ "$(rcli zcard rf:wfruns:keep2)" != 2 ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
check_eq "retention runs: 2: two runs left" 2 "$(rcli zcard rf:wfruns:keep2)"
for i in 0 1; do
  "$R" status "${runs[$i]}" >/dev/null 2>&1
  check_eq "retention runs: 2: older run $((i + 1)) deleted" 3 $?
done
for i in 2 3; do
  check_eq "retention runs: 2: newer run $((i + 1)) kept" succeeded "$(state "${runs[$i]}")"
done
check_eq "retention: the older runs' task records are gone" 0 "$(nkeys "rf:t:${runs[0]}/*")"
check_eq "retention: other workflows untouched" succeeded "$(state "$C")"

cat >"$work/days.yaml" <<'YAML'
name: short-lived
retention: {days: 0.0001}   # 8.64 s
steps:
  a: {worker: noop}
YAML
run=$(submit_wait "$work/days.yaml" --no-cache)
check_eq "retention days: the run is there at first" succeeded "$(state "$run")"
end=$((SECONDS + 30))
while [ -n "$(rcli zscore rf:runs "$run")" ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
"$R" status "$run" >/dev/null 2>&1
check_eq "retention days: deleted once older than 8.64 s" 3 $?

# --- bad retention values ---------------------------------------------------------
printf 'name: x\nretention: {runs: 0}\nsteps:\n  a: {worker: noop}\n' >"$work/bad1.yaml"
out=$("$R" lint "$work/bad1.yaml" 2>&1); rc=$?
check_eq "retention runs: 0: lint exit 2" 2 "$rc"
check "retention runs: 0: FILE:LINE:COL" \
  grep -q "bad1.yaml:2:19: retention.runs must be a whole number" <<<"$out"
printf 'name: x\nretention:\n  runs: 3\n  days: 2\nsteps:\n  a: {worker: noop}\n' >"$work/bad2.yaml"
out=$("$R" lint "$work/bad2.yaml" 2>&1); rc=$?
check_eq "retention with both: lint exit 2" 2 "$rc"
check "retention with both: says so" \
  grep -q "bad2.yaml:3:3: retention takes runs or days, not both" <<<"$out"
printf 'name: x\nretention: {keep: 3}\nsteps:\n  a: {worker: noop}\n' >"$work/bad3.yaml"
"$R" lint "$work/bad3.yaml" >/dev/null 2>&1
check_eq "retention with an unknown key: lint exit 2" 2 $?
finish
