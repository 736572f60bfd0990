#!/usr/bin/env bash
# eval_kfold_redis: workflows/kfold.yaml end to end through the engine: a
# real redis-server, the scheduler, two eval-fold workers serving from the
# queue, file:// storage. Five folds of FANN diabetes fan out, the aggregate
# fans them in; the results must equal what the local runner computes for
# the same folds (the split and training are deterministic).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
W="$RF_BIN/ruvflow-eval-fold"
# store URLs admit no ".." segments: the path must be canonical
DATA=$(realpath "${RF_SHARED:-$here/../shared}/datasets/fann/diabetes.train")

jqx() { jq -e "$@" >/dev/null; }   # a jq test as an exit status

rf_stack_init
work="$RF_STACK_DIR/eval-redis"
mkdir -p "$work/redis" "$work/store"
trap rf_stack_stop EXIT
port=$(rf_free_port)
export RUVFLOW_REDIS_URL="redis://127.0.0.1:$port/0"
export RUVFLOW_STORE="file://$work/store"
export RUVFLOW_LOG=warn
redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --logfile "$work/redis.log" &
RF_STACK_PIDS+=($!)
rf_wait_port "$port"
"$R" scheduler >>"$work/scheduler.log" 2>&1 &
RF_STACK_PIDS+=($!)
workers=()
for i in 1 2; do
  "$W" serve --concurrency 2 >>"$work/worker$i.log" 2>&1 &
  workers+=($!)
  RF_STACK_PIDS+=($!)
done
sleep 0.5
alive=1
for p in "${workers[@]}"; do kill -0 "$p" 2>/dev/null || alive=0; done
check "eval-fold workers serve" [ $alive = 1 ]
[ $alive = 1 ] || { cat "$work/worker1.log" >&2; finish; }

out=$(timeout 300 "$R" submit "$here/workflows/kfold.yaml" -p data="$DATA" -p epochs=15 -p hidden=8 \
  --no-cache --wait 2>"$work/submit.err")
rc=$?
check_eq "kfold run succeeds" 0 $rc
[ $rc = 0 ] || { cat "$work/submit.err" "$work"/*.log | tail -40 >&2; finish; }
run=$(echo "$out" | head -1)

"$R" outputs "$run" folds --json >"$work/folds.json" 2>>"$work/submit.err"
check "outputs of the fan-out step" [ -s "$work/folds.json" ]
"$R" outputs "$run" aggregate --json >"$work/agg.json" 2>>"$work/submit.err"
check "outputs of the fan-in step" [ -s "$work/agg.json" ]
check "aggregate metrics: mean and interval of accuracy" jqx \
  '.. | objects | select(has("accuracy_ci95_low")) |
   .accuracy_ci95_low < .accuracy and .accuracy < .accuracy_ci95_high and .n_folds == 5' \
  "$work/agg.json"

check_eq "one result per fold, in order" "0 1 2 3 4" \
  "$(jq -r '[.[].metrics.fold] | map(tostring) | join(" ")' "$work/folds.json")"
check "fold models stored in the warm tier" jqx \
  'all(.[]; .outputs.model | test("/warm/"))' "$work/folds.json"
url=$(jq -r '.[0].outputs.aggregate' "$work/agg.json")
"$R" store get "$url" "$work/aggregate.json" 2>>"$work/submit.err"
check_eq "aggregate.json from the store has the per-fold table" 5 \
  "$(jq '.folds | length' "$work/aggregate.json" 2>/dev/null)"
surl=$(jq -r '.[2].outputs.split' "$work/folds.json")
"$R" store get "$surl" "$work/split2.json" 2>>"$work/submit.err"

# The same five folds with the local runner: the served aggregate must match.
args=()
for k in 0 1 2 3 4; do
  "$W" run --input dataset="$DATA" --with folds=5 --with fold=$k --with scheme=auto \
    --with hidden=8 --with epochs=15 --with seed=42 --out "$work/local/f$k" >/dev/null 2>&1
  args+=(--input "folds=$work/local/f$k/fold.json")
done
"$W" run --with aggregate=true "${args[@]}" --out "$work/local/agg" >/dev/null 2>&1
want=$(jq .accuracy "$work/local/agg/metrics.json")
got=$(jq '[.. | objects | select(has("accuracy_ci95_low")) | .accuracy][0]' "$work/agg.json")
check_eq "served and local aggregates agree" "$want" "$got"
check "served fold 2 split equals the local one" cmp -s "$work/split2.json" \
  "$work/local/f2/split.json"
finish
