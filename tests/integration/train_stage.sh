#!/usr/bin/env bash
# train_stage.sh: the train-stage worker in local mode, end to end: FANN and
# CSV inputs, metrics and outputs, curriculum levels, chaining and transfer,
# resume after kill -9, and bad input (each a clear error, no outputs).
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
W="$RF_BIN/ruvflow-train-stage"
F="$RF_SHARED/datasets/fann"
T=$(mktemp -d "${TMPDIR:-/tmp}"/rf_train_stage.XXXXXX)
trap 'rm -rf "$T"' EXIT

metric() { python3 -c "import json,sys; print(json.load(open('$1/metrics.json')).get('$2', 'missing'))"; }
ge() { python3 -c "import sys; sys.exit(0 if float('$1') >= float('$2') else 1)"; }

# --- plain training on a FANN pair
"$W" run --input train="$F/thyroid.train" --input test="$F/thyroid.test" --with hidden=16 \
  --with seed=3 --out "$T/thy" >"$T/thy.out" 2>"$T/thy.err"
check_eq "thyroid run exits 0" 0 $?
check "thyroid outputs listed" grep -q "^checkpoint	$T/thy/checkpoint.art" "$T/thy.out"
check "best checkpoint written" test -s "$T/thy/best.art"
acc=$(metric "$T/thy" test_accuracy)
check "thyroid test accuracy >= 0.97 ($acc)" ge "$acc" 0.97
for k in epochs seconds train_loss val_loss val_accuracy graduated; do
  check "metric $k present" test "$(metric "$T/thy" $k)" != missing
done
check "per-epoch progress streamed" grep -q '"series":"epoch".*"val_acc"' "$T/thy/progress.jsonl"

# --- regression (sigmoid outputs for [0,1] targets), test_mse reported
"$W" run --input train="$F/building.train" --input test="$F/building.test" --with hidden=16 \
  --with epochs=30 --out "$T/bld" >/dev/null 2>&1
mse=$(metric "$T/bld" test_mse)
check "building test_mse < 0.01 ($mse)" ge 0.01 "$mse"

# --- curriculum on a CSV with levels; chain the next level from the checkpoint
python3 - "$T" <<'PY'
import random, sys
random.seed(4)
t = sys.argv[1]
levels = ["trivial", "easy", "medium"]
with open(f"{t}/cur.csv", "w") as f, open(f"{t}/cur2.csv", "w") as g:
    f.write("x1,x2,x3,label,level\n"); g.write("x1,x2,x3,label,level\n")
    for i in range(900):
        lv = levels[i % 3]
        noise = {"trivial": 0.1, "easy": 0.4, "medium": 0.8}[lv]
        x = [random.gauss(0, 1) for _ in range(3)]
        s = x[0] + 0.5 * x[1] + random.gauss(0, noise)
        lab = "lo" if s < -0.5 else ("mid" if s < 0.5 else "hi")
        f.write(f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{lab},{lv}\n")
        g.write(f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{'pos' if s > 0 else 'neg'},{lv}\n")
PY
"$W" run --input train="$T/cur.csv" --with level=trivial --with hidden=16 --with lr=1e-2 \
  --with graduate=0.9 --out "$T/lv1" >/dev/null 2>"$T/lv1.err"
check_eq "level trivial exits 0" 0 $?
check_eq "trivial stage graduated" 1.0 "$(metric "$T/lv1" graduated)"
"$W" run --input train="$T/cur.csv" --input checkpoint="$T/lv1/checkpoint.art" --with level=easy \
  --with lr=1e-3 --with hidden=99 --out "$T/lv2" >/dev/null 2>"$T/lv2.err"
check_eq "level easy from the trivial checkpoint exits 0" 0 $?
check "chained stage copied every layer" grep -q "2 of 2 layers copied" "$T/lv2.err"
check_eq "easy stage: at most 20 epochs (level default)" 1 \
  "$(python3 -c "print(int(float('$(metric "$T/lv2" epochs)') <= 20))")"

# --- a level without rows of its own trains on the rows retained from earlier levels
"$W" run --input train="$T/cur.csv" --with level=expert --with hidden=16 --with retain=0.1 \
  --with epochs=3 --out "$T/lv5" >/dev/null 2>"$T/lv5.err"
check_eq "level expert without rows, retained rows only: exit 0" 0 $?
check "retained-only stage logged" \
  grep -q "level expert has no training rows of its own: training on the 90 rows" "$T/lv5.err"
check "its validation carved from them" grep -q "carved 9 of 90 training rows" "$T/lv5.err"

# --- the curriculum chain over the shipped sessions (workflows/curriculum.yaml's
# steps, locally): some levels have no rows, or none in the validation split
P="$T/prep"
"$RF_BIN/ruvflow-preprocess" run --input sessions="$RF_ROOT/workflows/data/sessions" \
  --with task=tool-selection --out "$P" >/dev/null 2>&1
check_eq "preprocess of the shipped sessions exits 0" 0 $?
prev=()
for lv in trivial easy medium hard expert; do
  "$W" run --input dataset="$P/dataset.art" "${prev[@]}" --with level=$lv --with hidden=64,32 \
    --with seed=11 --out "$T/cur_$lv" >/dev/null 2>"$T/cur_$lv.err"
  check_eq "curriculum stage $lv on the shipped sessions exits 0" 0 $?
  prev=(--input checkpoint="$T/cur_$lv/checkpoint.art")
done
check "trivial: validation carved from its one session" \
  grep -q "one session: its rows are in both parts" "$T/cur_trivial.err"
check "easy: validation carved by whole sessions" grep -q "1 whole session" "$T/cur_easy.err"
check "medium: trained on retained rows" grep -q "level medium has no training rows of its own" \
  "$T/cur_medium.err"
check "expert: used its own validation split" grep -q "53 validation" "$T/cur_expert.err"
"$W" run --input dataset="$P/dataset.art" "${prev[@]}" --with level=expert --with hidden=64,32 \
  --with lr=5e-6 --with epochs=5 --out "$T/cur_remedial" >/dev/null 2>&1
check_eq "remedial stage from the expert checkpoint exits 0" 0 $?

# --- transfer: the 3-class network retargeted to a 2-class label set
"$W" run --input train="$T/cur2.csv" --input checkpoint="$T/lv1/checkpoint.art" \
  --with transfer=replace --with freeze=1 --with epochs=15 --out "$T/xfer" >/dev/null 2>"$T/xfer.err"
check_eq "transfer=replace freeze=1 exits 0" 0 $?
check "transfer copied the hidden layer" grep -q "1 of 2 layers copied, 1 frozen" "$T/xfer.err"
"$W" run --input train="$T/cur2.csv" --input checkpoint="$T/lv1/checkpoint.art" \
  --out "$T/noxfer" >/dev/null 2>"$T/noxfer.err"
check_eq "other label set without transfer: exit 2" 2 $?
check "incompatible checkpoint named" grep -q "incompatible checkpoint.*transfer=replace" "$T/noxfer.err"
check "nothing written on error" test ! -e "$T/noxfer/checkpoint.art"

# --- refit: the final model trains on every training row, the early-stopped
# run on the rows left after the validation carve
n_thy=$(head -1 "$F/thyroid.train" | cut -d' ' -f1)
"$W" run --input train="$F/thyroid.train" --input test="$F/thyroid.test" --with hidden=16 \
  --with seed=3 --with refit=false --out "$T/thy0" >/dev/null 2>&1
check_eq "thyroid: refit by default on a train/test pair" "$n_thy.0" "$(metric "$T/thy" train_rows)"
check_eq "refit trained for the best epoch count" "$(metric "$T/thy" best_epoch)" \
  "$(metric "$T/thy" refit_epochs)"
check "refit logged" grep -q "refit: [0-9]* epochs .* on all $n_thy training rows" "$T/thy.err"
check "refit streams its own series" grep -q '"series":"refit"' "$T/thy/progress.jsonl"
check "refit=false trains on the carved rows only" \
  python3 -c "import sys; sys.exit(0 if 0 < float('$(metric "$T/thy0" train_rows)') < $n_thy else 1)"
check_eq "refit=false: no refit epochs" 0.0 "$(metric "$T/thy0" refit_epochs)"
check "refit changes the final model" test "$(metric "$T/thy" test_loss)" != "$(metric "$T/thy0" test_loss)"
"$W" run --input train="$T/cur.csv" --with level=trivial --with hidden=16 --with lr=1e-2 \
  --with graduate=0.9 --out "$T/lv1r" >/dev/null 2>&1
check_eq "curriculum stage: no refit by default" 0.0 "$(metric "$T/lv1r" refit_epochs)"

# --- resume after kill -9: checkpoints every 2 epochs, kill mid-run (once
# (l2 fixed: l2=auto trains its candidates before the first epoch is saved)
# in the early-stopped run, once in the refit), rerun
args=(--input train="$F/mushroom.train" --input test="$F/mushroom.test" --with hidden=128,128
      --with epochs=40 --with patience=0 --with l2=1e-4 --with batch=16 --with checkpoint_every=2
      --with refit=true)
"$W" run "${args[@]}" --out "$T/full" >/dev/null 2>&1
"$W" run "${args[@]}" --out "$T/kill" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -s "$T/kill/.state/progress" ] && [ "$(wc -l <"$T/kill/progress.jsonl")" -ge 5 ] && break
  sleep 0.05
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done_epochs=$(wc -l <"$T/kill/progress.jsonl")
check "killed before the end ($done_epochs of 40 epochs)" test "$done_epochs" -lt 40
check "no final checkpoint after the kill" test ! -e "$T/kill/checkpoint.art"
"$W" run "${args[@]}" --out "$T/kill" >/dev/null 2>"$T/resume.err"
check_eq "rerun exits 0" 0 $?
check "rerun resumed from a saved epoch" grep -Eq "resuming training at epoch [1-9]" "$T/resume.err"
check_eq "resumed run trained 40 epochs" 40.0 "$(metric "$T/kill" epochs)"
check_eq "resumed == uninterrupted (test loss)" "$(metric "$T/full" test_loss)" "$(metric "$T/kill" test_loss)"
"$W" run "${args[@]}" --out "$T/killr" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  [ -s "$T/killr/.state/refit" ] && [ "$(grep -c '"series":"refit"' "$T/killr/progress.jsonl")" -ge 3 ] && break
  sleep 0.05
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "killed during the refit" test -s "$T/killr/.state/refit" -a ! -e "$T/killr/checkpoint.art"
"$W" run "${args[@]}" --out "$T/killr" >/dev/null 2>"$T/resumer.err"
check_eq "rerun after a kill in the refit exits 0" 0 $?
check "rerun resumed the refit, not from scratch" grep -Eq "resuming the refit at epoch [1-9]" "$T/resumer.err"
check_eq "refit resumed == uninterrupted (test loss)" "$(metric "$T/full" test_loss)" \
  "$(metric "$T/killr" test_loss)"

# --- bad input
printf '2 2 1\n1 nan\n1\n0 1\n0\n' >"$T/nan.train"
"$W" run --input train="$T/nan.train" --out "$T/bad1" >/dev/null 2>"$T/bad1.err"
check_eq "NaN in data: exit 4 (malformed data)" 4 $?
check "NaN error names file:line" grep -q "nan.train:2:" "$T/bad1.err"
"$W" run --input train="$F/thyroid.train" --input test="$F/diabetes.test" --out "$T/bad2" \
  >/dev/null 2>"$T/bad2.err"
check_eq "train/test shape mismatch: exit 2" 2 $?
check "mismatch explained" grep -q "does not match the training file" "$T/bad2.err"
python3 -c "
import random; random.seed(1)
print('x,y')
for i in range(200): x = random.random(); print(f'{x:.4f},{1000 * x:.4f}')" >"$T/big.csv"
"$W" run --input train="$T/big.csv" --with optimizer=sgd --with lr=1e3 --with epochs=3 \
  --out "$T/bad3" >/dev/null 2>"$T/bad3.err"
check_eq "divergence: exit 2" 2 $?
check "divergence names the epoch" grep -q "diverged at epoch 1" "$T/bad3.err"
"$W" run --input train="$T/cur.csv" --with level=expert --with retain=0 --out "$T/bad4" \
  >/dev/null 2>"$T/bad4.err"
check_eq "level without rows, nothing retained: exit 2" 2 $?
check "empty level explained with counts" \
  grep -q "level expert has no training rows (0 validation, 0 test).*(900, retain=0)" "$T/bad4.err"
"$W" run --input train="$F/thyroid.train" --with hiden=16 --out "$T/bad5" >/dev/null 2>"$T/bad5.err"
check_eq "unknown with key: exit 2" 2 $?
"$W" run --input train="$F/thyroid.train" --input checkpoint="$F/thyroid.test" --out "$T/bad6" \
  >/dev/null 2>"$T/bad6.err"
check "checkpoint that is not an artifact fails" test -s "$T/bad6.err"
for d in bad1 bad2 bad3 bad4 bad5 bad6; do
  check "$d: no checkpoint written" test ! -e "$T/$d/checkpoint.art"
done

# --- timings=false: no wall time in the checkpoint, so two runs are bit-identical
for i in 1 2; do
  "$W" run --input train="$F/thyroid.train" --with hidden=4 --with epochs=3 --with seed=5 \
    --with timings=false --out "$T/rep$i" >/dev/null 2>&1
done
check_eq "timings=false: the same checkpoint bytes twice" \
  "$(sha256sum <"$T/rep1/checkpoint.art")" "$(sha256sum <"$T/rep2/checkpoint.art")"
"$W" run --input train="$F/thyroid.train" --with hidden=4 --with epochs=3 --with seed=5 \
  --out "$T/rep3" >/dev/null 2>&1
check "timings on (the default): the history holds wall time, so the bytes differ" \
  test "$(sha256sum <"$T/rep1/checkpoint.art")" != "$(sha256sum <"$T/rep3/checkpoint.art")"
finish
