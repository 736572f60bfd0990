#!/usr/bin/env bash
# plot.sh: `ruvflow plot` from a local run's progress.jsonl and from a run's
# epoch series in Redis (the rf:run:RUN:progress stream and rf:t:ID task
# records of docs/redis-schema.md, written here with redis-cli).
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
T=$(mktemp -d /tmp/rf_plot.XXXXXX)
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
  rc() { redis-cli -u "$RF_TEST_REDIS_URL" "$@" >/dev/null; }
  run="plot-$$"
  rc HSET "rf:t:$run/train/0" run "$run" step train idx 0
  rc HSET "rf:t:$run/other/0" run "$run" step other idx 0
  for e in 1 2 3 4 5 6; do
    rc XADD "rf:run:$run:progress" '*' task "$run/train/0" series epoch step $e \
      train_loss "0.$((9 - e))" val_loss "0.$((10 - e))" train_acc "0.$((3 + e))" val_acc nan
    rc XADD "rf:run:$run:progress" '*' task "$run/other/0" series epoch step $e train_loss 70
  done
  RUVFLOW_REDIS_URL="$RF_TEST_REDIS_URL" "$R" plot "$run" train -o "$T/redis.svg"
  check_eq "plot RUN STEP from Redis exits 0" 0 $?
  check "Redis SVG has train/val loss and train accuracy" svg_ok "$T/redis.svg" 3
  # the other step's loss of 70 would stretch the y axis to 70
  check "only the step's own task was drawn" bash -c "! grep -qE '>(60|70)<' '$T/redis.svg'"
  RUVFLOW_REDIS_URL="$RF_TEST_REDIS_URL" "$R" plot "$run" nosuch -o "$T/none.svg" 2>"$T/err2"
  check_eq "unknown step: exit 3" 3 $?
  check "unknown step explained" grep -q "no epoch curve for step nosuch" "$T/err2"
fi
finish
