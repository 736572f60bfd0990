#!/usr/bin/env bash
# plot.sh: `ruvflow plot` from a local run's progress.jsonl and from a run's
# epoch series in Redis (the rf:run:RUN:progress stream and rf:t:ID task
# records of docs/redis-schema.md, written here with redis-cli).
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}"/rf_plot.XXXXXX)
trap 'rm -rf "$T"' EXIT
R="$RF_BIN/ruvflow"
svg_ok() { python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); \
sys.exit(0 if len(d.getElementsByTagName('polyline')) >= int(sys.argv[2]) else 1)" "$1" "$2"; }

"$RF_BIN/ruvflow-train-stage" run --input train="$RF_SHARED/datasets/fann/diabetes.train" \
  --with hidden=8 --with epochs=12 --with patience=0 --out "$T/run" >/dev/null 2>&1
"$R" plot --progress "$T/run" -o "$T/local.svg"
check_eq "plot --progress DIR exits 0" 0 $?
check "local SVG is well-formed with 4 curves" svg_ok "$T/local.svg" 4
"$R" plot --progress "$T/run/progress.jsonl" -o "$T/local2.svg" --title "diabetes"
check "plot --progress FILE with a title" grep -q ">diabetes<" "$T/local2.svg"
"$R" plot --progress "$T/nothing" -o "$T/x.svg" 2>"$T/err1"
check_eq "missing progress file: exit 3" 3 $?
"$R" plot -o "$T/x.svg" 2>/dev/null
check_eq "no run/step: usage, exit 2" 2 $?

if [ -n "${RF_TEST_REDIS_URL:-}" ] && command -v redis-cli >/dev/null; then
  export RUVFLOW_REDIS_URL="$RF_TEST_REDIS_URL"
  rc() { redis-cli -u "$RF_TEST_REDIS_URL" "$@" >/dev/null; }
  run="plot-$$"
  # A real run record (no scheduler needed): a chain of three stages, a
  # fan-out of two folds and another step; the progress points are written
  # by hand, as the workers would stream them.
  cat >"$T/p.yaml" <<'EOF'
name: plotted
steps:
  train: {worker: noop, chain: {range: 3}, with: {i: "${{ item }}"}}
  folds: {worker: noop, foreach: {range: 2}, with: {i: "${{ item }}"}}
  other: {worker: noop}
EOF
  "$R" submit "$T/p.yaml" --id "$run" >/dev/null 2>"$T/submit.err"
  check_eq "a run to plot was submitted" 0 $?
  for k in 0 1 2; do
    rc HSET "rf:t:$run/train/$k" run "$run" step train idx $k
    for e in 1 2 3 4; do
      rc XADD "rf:run:$run:progress" '*' task "$run/train/$k" series epoch step $e \
        train_loss "0.$((9 - e - k))" val_loss "0.$((9 - e))" train_acc "0.$((3 + e))" val_acc nan
    done
  done
  for k in 0 1; do
    rc HSET "rf:t:$run/folds/$k" run "$run" step folds idx $k
    for e in 1 2 3; do   # eval-fold streams its epochs as the "train" series
      rc XADD "rf:run:$run:progress" '*' task "$run/folds/$k" series train step $e \
        train_loss "0.$((8 - e))" val_loss "0.$((9 - e))"
    done
  done
  rc HSET "rf:t:$run/other/0" run "$run" step other idx 0
  rc XADD "rf:run:$run:progress" '*' task "$run/other/0" series epoch step 1 train_loss 70
  "$R" plot "$run" train -o "$T/redis.svg"
  check_eq "plot RUN STEP from Redis exits 0" 0 $?
  check "chain: train/val loss and train accuracy of three stages" svg_ok "$T/redis.svg" 9
  for k in 0 1 2; do
    check "chain: stage $k has its own legend entry" grep -q ">train/$k<" "$T/redis.svg"
  done
  # stages one after another: 3 x 4 epochs on one axis
  check "chain: the stages share one epoch axis up to 12" grep -q ">12<" "$T/redis.svg"
  # the other step's loss of 70 would stretch the y axis to 70
  check "only the step's own tasks were drawn" bash -c "! grep -qE '>(60|70)<' '$T/redis.svg'"
  "$R" plot "$run" folds -o "$T/folds.svg" 2>"$T/err3"
  check_eq "plot RUN folds (eval-fold's train series) exits 0" 0 $?
  check "folds: one curve per fold" bash -c "grep -q '>folds/0<' '$T/folds.svg' && grep -q '>folds/1<' '$T/folds.svg'"
  "$R" plot "$run" nosuch -o "$T/none.svg" 2>"$T/err2"
  check_eq "unknown step: exit 3" 3 $?
  check "unknown step explained" grep -q "has no step nosuch" "$T/err2"
  "$R" plot nope-1 x -o "$T/none.svg" 2>"$T/err4"
  check_eq "unknown run: exit 3" 3 $?
  check "unknown run: no such run" grep -q "no such run nope-1" "$T/err4"
fi
finish
