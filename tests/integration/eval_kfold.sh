#!/usr/bin/env bash
# eval_kfold: the eval-fold worker end to end with the local runner: a
# 5-fold stratified cross-validation of FANN's diabetes set, its aggregate,
# a time-series run on building (regression), and bad input.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
W="$RF_BIN/ruvflow-eval-fold"
D="$RF_SHARED/datasets/fann"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TRAIN=(--with epochs=15 --with hidden=8 --with batch=32)
jqx() { jq -e "$@" >/dev/null; }   # a jq test as an exit status

# ---- 5-fold stratified on diabetes ----------------------------------------
ok_all=1
for k in 0 1 2 3 4; do
  "$W" run --input dataset="$D/diabetes.train" --with folds=5 --with fold=$k \
    "${TRAIN[@]}" --out "$T/f$k" >"$T/f$k.out" 2>"$T/f$k.err" || { ok_all=0; cat "$T/f$k.err"; }
done
check "five folds run" [ $ok_all = 1 ]
for f in fold.json split.json metrics.json model.art; do
  check "fold 0 wrote $f" [ -s "$T/f0/$f" ]
done
check "model output is a checkpoint artifact" \
  [ "$(head -c 7 "$T/f0/model.art")" = RVFLART ]
check "outputs listed" grep -q "^model	$T/f0/model.art" "$T/f0.out"

n=$(head -1 "$D/diabetes.train" | awk '{print $1}')
# Test parts are disjoint and cover every row; each train part is the complement.
jq -s '[.[].test[]] | sort' "$T"/f?/split.json >"$T/alltest.json"
check_eq "test parts cover every row once" "$(seq 0 $((n - 1)) | jq -s -c .)" \
  "$(jq -c . "$T/alltest.json")"
comp=$(for k in 0 1 2 3 4; do jq -r '(.train + .test | sort) == [range(0; '"$n"')] and
  ((.train - .test) | length) == (.train | length)' "$T/f$k/split.json"; done | sort -u)
check_eq "train is the complement of test" "true" "$comp"
check_eq "val rows come from train" "true" \
  "$(jq '(.val - .train) | length == 0' "$T/f0/split.json")"

# Stratification: class counts per fold within one row of the ideal.
awk 'NR > 1 && NR % 2 == 1 {print ($1 > $2) ? 0 : 1}' "$D/diabetes.train" | jq -s . >"$T/y.json"
strat=$(for k in 0 1 2 3 4; do jq --slurpfile y "$T/y.json" -r '
  [.test[] as $i | $y[0][$i]] as $c | [0, 1] | map(. as $cls |
  ([$c[] | select(. == $cls)] | length) - (([$y[0][] | select(. == $cls)] | length) / 5)) |
  map(if . < 0 then -. else . end) | max < 1' "$T/f$k/split.json"; done | sort -u)
check_eq "stratified within one row per class" "true" "$strat"

acc=$(jq .metrics.accuracy "$T/f0/fold.json")
check "fold 0 learned something (accuracy $acc > 0.65)" awk "BEGIN {exit !($acc > 0.65)}"
check_eq "fold.json confusion matrix sums to the test rows" \
  "$(jq '.n_test' "$T/f0/fold.json")" "$(jq '[.confusion[][]] | add' "$T/f0/fold.json")"
check_eq "fold.json has per-class rows" 2 "$(jq '.per_class | length' "$T/f0/fold.json")"
check "resource metrics present" jqx \
  '.inference_us_per_sample > 0 and .model_bytes > 0 and .model_artifact_bytes > 0' \
  "$T/f0/metrics.json"

# Deterministic: the same fold again gives the same split and the same model.
"$W" run --input dataset="$D/diabetes.train" --with folds=5 --with fold=0 "${TRAIN[@]}" \
  --out "$T/again" >/dev/null 2>&1
check "split reproducible" cmp -s "$T/f0/split.json" "$T/again/split.json"
check_eq "metrics reproducible" "$(jq .metrics.log_loss "$T/f0/fold.json")" \
  "$(jq .metrics.log_loss "$T/again/fold.json")"
"$W" run --input dataset="$D/diabetes.train" --with folds=5 --with fold=0 --with seed=7 \
  "${TRAIN[@]}" --out "$T/seed7" >/dev/null 2>&1
differ() { ! cmp -s "$1" "$2"; }
check "another seed, another split" differ "$T/f0/split.json" "$T/seed7/split.json"

# ---- aggregate ---------------------------------------------------------------
args=(); for k in 0 1 2 3 4; do args+=(--input "folds=$T/f$k/fold.json"); done
check "aggregate runs" "$W" run --with aggregate=true "${args[@]}" --out "$T/agg" \
  >"$T/agg.out" 2>"$T/agg.err"
check "aggregate logs a table" grep -q "accuracy .* \[" "$T/agg.err"
mean=$(jq -s '[.[].metrics.accuracy] | add / length' "$T"/f?/fold.json)
check "aggregate mean is the mean of the folds" jqx \
  "(.metrics.accuracy.mean - $mean | fabs) < 1e-9 and .metrics.accuracy.n == 5" \
  "$T/agg/aggregate.json"
check "CI brackets the mean" jqx \
  '.metrics | to_entries | map(select(.value.std > 0)) |
   all(.value.ci95_low < .value.mean and .value.mean < .value.ci95_high)' "$T/agg/aggregate.json"
check_eq "per-fold table in fold order" "[0,1,2,3,4]" \
  "$(jq -c '[.folds[].fold]' "$T/agg/aggregate.json")"
check "aggregate metrics.json carries means and intervals" jqx \
  '.accuracy and .accuracy_ci95_low and .n_folds == 5' "$T/agg/metrics.json"

# ---- time series on building (regression, 3 targets) ---------------------------
"$W" run --input dataset="$D/building.train" --with scheme=timeseries --with folds=4 \
  --with fold=3 --with gap=10 --with expanding=false --with window=600 "${TRAIN[@]}" \
  --out "$T/ts" >/dev/null 2>"$T/ts.err"
check "timeseries fold runs" [ -s "$T/ts/fold.json" ] || cat "$T/ts.err" >&2
check "time order and gap respected" jqx \
  '(.test | min) == (.train | max) + 11 and (.train | length) == 600' "$T/ts/split.json"
check "regression metrics with directional accuracy" jqx \
  '.mse >= 0 and .rmse >= 0 and .mae >= 0 and (.r2 | type) == "number" and
   .directional_accuracy >= 0' "$T/ts/metrics.json"

# ---- grouped folds from a CSV's session column -----------------------------------
awk 'BEGIN { srand(3); print "session,x1,x2,label"; s = 0
  for (i = 0; i < 90; i++) { if (rand() < 0.2) s++
    x = rand(); printf "%d,%.4f,%.4f,%s\n", s, x, rand(), (x > 0.5 ? "hi" : "lo") } }' >"$T/sess.csv"
jq -R -s 'split("\n")[1:-1] | map(split(",")[0] | tonumber)' "$T/sess.csv" >"$T/sess.json"
ok_all=1
for k in 0 1 2; do
  "$W" run --input dataset="$T/sess.csv" --with scheme=group --with group=session \
    --with folds=3 --with fold=$k "${TRAIN[@]}" --out "$T/g$k" >/dev/null 2>"$T/g.err" ||
    { ok_all=0; cat "$T/g.err" >&2; }
done
check "grouped folds run (group=session column)" [ $ok_all = 1 ]
leak=$(for k in 0 1 2; do jq --slurpfile s "$T/sess.json" '
  ([.train[] | $s[0][.]] | unique) as $a | ([.test[] | $s[0][.]] | unique) as $b |
  ($a - ($a - $b)) | length' "$T/g$k/split.json"; done | sort -u)
check_eq "no session in both train and test" 0 "$leak"
# 2 features -> 8 hidden -> 2 classes: (2*8 + 8) + (8*2 + 2) parameters of 4 bytes
check_eq "session is not a feature" 168 "$(jq .metrics.model_bytes "$T/g0/fold.json")"

# ---- bad input -----------------------------------------------------------------
printf 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n' >"$T/tiny.csv"
bad() { # name expected-exit expected-message args...
  local name=$1 want=$2 msg=$3; shift 3
  "$W" run "$@" --out "$T/bad" >/dev/null 2>"$T/bad.err"
  local rc=$?
  if [ $rc = "$want" ] && grep -q -- "$msg" "$T/bad.err"; then ok "$name"
  else not_ok "$name (exit $rc: $(cat "$T/bad.err"))"; fi
}
bad "more folds than rows" 2 "5 folds but only 3 rows" \
  --input dataset="$T/tiny.csv" --with folds=5 --with fold=0
bad "rarest class smaller than folds" 2 "rarest class has only 1 row " \
  --input dataset="$T/tiny.csv" --with folds=2 --with fold=0
bad "fold is required" 2 "with.fold" --input dataset="$D/diabetes.train"
bad "fold out of range" 2 "outside \[0, 5)" --input dataset="$D/diabetes.train" --with fold=5
bad "unknown scheme" 2 "unknown \"loo\"" --input dataset="$D/diabetes.train" --with fold=0 \
  --with scheme=loo
bad "group scheme without groups" 2 "needs a group per row" \
  --input dataset="$D/diabetes.train" --with fold=0 --with scheme=group
bad "empty time-series window" 2 "empty" --input dataset="$T/tiny.csv" --with fold=0 \
  --with folds=3 --with scheme=timeseries
bad "missing dataset" 3 "dataset" --input dataset="$T/nope.fann" --with fold=0
bad "no dataset input" 2 "input \`dataset\`" --with fold=0
bad "aggregate without folds" 2 "input \`folds\`" --with aggregate=true
bad "bad training option" 2 "with.hidden" --input dataset="$D/diabetes.train" --with fold=0 \
  --with hidden=8,x
bad "unknown group column" 2 "no feature column \"sess\"" --input dataset="$T/sess.csv" \
  --with fold=0 --with scheme=group --with group=sess
bad "misspelt key" 2 "with.epoch: unknown key" --input dataset="$D/diabetes.train" \
  --with fold=0 --with epoch=5
printf 'a,label\n1,x\n2,x\n3,x\n4,x\n' >"$T/one.csv"
bad "single class" 2 "single class" --input dataset="$T/one.csv" --with folds=2 --with fold=0 \
  --with scheme=stratified
# fallback=true turns the impossible stratification into plain k-fold, and says so
"$W" run --input dataset="$T/tiny.csv" --with folds=2 --with fold=0 --with fallback=true \
  --with epochs=2 --with val_fraction=0 --out "$T/fb" >/dev/null 2>"$T/fb.err"
# refit=true (the shared training key): fold 0 retrains on train + val rows
"$W" run --input dataset="$D/diabetes.train" --with folds=5 --with fold=0 "${TRAIN[@]}" \
  --with refit=true --out "$T/rf0" >/dev/null 2>"$T/rf0.err"
check "refit=true retrains the fold on train + val rows" \
  grep -q "fold 0: refit for [1-9][0-9]* epochs on $(jq '(.train | length)' "$T/f0/split.json") rows" "$T/rf0.err"
check "refit changes the fold's model" test -s "$T/rf0/fold.json" -a \
  "$(jq -c .metrics "$T/f0/fold.json")" != "$(jq -c .metrics "$T/rf0/fold.json" 2>/dev/null)"
check_eq "fallback to kfold" kfold "$(jq -r .scheme_used "$T/fb/fold.json" 2>/dev/null)"
check "fallback noted" grep -q "fell back to kfold" "$T/fb.err"
finish
