#!/usr/bin/env bash
# bench_train.sh: ruvflow's trainer against FANN 2.2 (Debian libfann-dev), in
# the same run, on the FANN benchmark sets (one hidden layer: 32 units for
# mushroom, gene, soybean; 16 for thyroid, building, robot; 8 for diabetes).
#  (a) train_cups_SET: connection updates per second at equal epochs, the
#      same network and algorithm on both sides (sigmoid-symmetric hidden,
#      sigmoid output, MSE, full-batch iRPROP-); target 5x on 32-hidden sets.
#  (b) train_error_SET / train_mse_SET and train_seconds_SET: our DEFAULT
#      configuration (ruvflow-train-stage with only hidden= and seed= set;
#      validation carved from .train, early stopping) against FANN's default
#      after 200 epochs; test error (classes) or test MSE (building, robot)
#      and training wall time, each the mean of $RUNS runs (FANN seeds itself
#      randomly per run; ours uses seeds 1..RUNS). Targets: ratio <= 1.
#  (d) train_accuracy_digits: scikit-learn's 8x8 digits (Debian
#      python3-sklearn's load_digits, converted to FANN format here: pixels
#      / 16, a stratified 70/30 split with random_state 0), our DEFAULT
#      configuration (only seed=) against FANN's default with 64 hidden units
#      after 200 epochs, mean of $RUNS runs; target ratio >= 1, and against
#      the fixed target of 98% test accuracy (train_accuracy_digits_98).
#  (c) train_gflops_mlp784: 784-512-512-10 training at batch 256 vs
#      OpenBLAS sgemm on the same calls; target 50%.
# Single-threaded BLAS on both sides (FANN has no threads).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
export OPENBLAS_NUM_THREADS=1
F="$RF_SHARED/datasets/fann"
BENCH="$RF_BIN/../bench"
W="$RF_BIN/ruvflow-train-stage"
RUNS=${RF_BENCH_TRAIN_RUNS:-3}
EPOCHS_CUPS=${RF_BENCH_TRAIN_CUPS_EPOCHS:-40}
T=$(mktemp -d /tmp/rf_bench_train.XXXXXX)
trap 'rm -rf "$T"' EXIT

# The peer links libfann, which the Makefile's bench rule does not; so it
# lives outside tests/bench/*.c and is compiled here.
PEER="$T/fann_peer"
cc -O2 -o "$PEER" tests/bench/peers/fann_peer.c -lfann -lm || { echo "fann_peer: build failed (libfann-dev?)" >&2; exit 1; }

kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }   # value of key in "k=v k=v"
calc() { python3 -c "print($1)"; }
mean() { python3 -c "import sys; v = [float(x) for x in sys.argv[1:]]; print(sum(v) / len(v))" "$@"; }

sets="mushroom:32 gene:32 soybean:32 thyroid:16 building:16 robot:16 diabetes:8"

# (a) throughput at equal epochs
for s in $sets; do
  name=${s%%:*} hidden=${s##*:}
  ours=$("$BENCH/train_bench" cups "$F/$name.train" "$hidden" "$EPOCHS_CUPS") || exit 1
  peer=$("$PEER" "$F/$name.train" "$F/$name.test" "$hidden" "$EPOCHS_CUPS") || exit 1
  peer_cups=$(calc "$EPOCHS_CUPS * $(kv "$peer" rows) * $(kv "$peer" connections) / $(kv "$peer" seconds)")
  target=-; [ "$hidden" = 32 ] && target=5
  rf_bench_emit "train_cups_$name" "conn updates/s" "$(kv "$ours" cups)" "$peer_cups" "FANN 2.2 iRPROP-" 1 "$target"
done

# (b) quality and time of our defaults vs FANN's after 200 epochs
for s in $sets; do
  name=${s%%:*} hidden=${s##*:}
  o_err=() o_sec=() p_err=() p_sec=()
  for seed in $(seq 1 "$RUNS"); do
    rm -rf "$T/run"
    "$W" run --input train="$F/$name.train" --input test="$F/$name.test" --with hidden="$hidden" \
      --with seed="$seed" --out "$T/run" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
    read -r e sec < <(python3 -c "import json; m = json.load(open('$T/run/metrics.json'))
print(1 - m['test_accuracy'] if 'test_accuracy' in m else m['test_mse'], m['seconds'])")
    o_err+=("$e") o_sec+=("$sec")
    peer=$("$PEER" "$F/$name.train" "$F/$name.test" "$hidden" 200) || exit 1
    case $name in building|robot) p_err+=("$(kv "$peer" test_mse)");; *) p_err+=("$(kv "$peer" test_err)");; esac
    p_sec+=("$(kv "$peer" seconds)")
  done
  case $name in building|robot) metric=train_mse unit="test MSE";; *) metric=train_error unit="test error";; esac
  rf_bench_emit "${metric}_$name" "$unit (mean of $RUNS)" "$(mean "${o_err[@]}")" "$(mean "${p_err[@]}")" "FANN 2.2, 200 epochs" 0 1
  rf_bench_emit "train_seconds_$name" "s to train (mean of $RUNS)" "$(mean "${o_sec[@]}")" "$(mean "${p_sec[@]}")" "FANN 2.2, 200 epochs" 0 1
done

# (d) 8x8 digits: our defaults vs FANN, and vs 98% test accuracy
/usr/bin/python3 - "$T" <<'PY' || { echo "digits: needs Debian's python3-sklearn" >&2; exit 1; }
import sys
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
X, y = load_digits(return_X_y=True)
parts = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
for name, X, y in (("train", parts[0], parts[2]), ("test", parts[1], parts[3])):
    with open(f"{sys.argv[1]}/digits.{name}", "w") as f:
        f.write(f"{len(X)} 64 10\n")
        for x, c in zip(X, y):
            f.write(" ".join("%g" % (v / 16) for v in x) + "\n")
            f.write(" ".join("1" if k == c else "0" for k in range(10)) + "\n")
PY
o_acc=() p_acc=()
for seed in $(seq 1 "$RUNS"); do
  rm -rf "$T/run"
  "$W" run --input train="$T/digits.train" --input test="$T/digits.test" --with seed="$seed" \
    --out "$T/run" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
  o_acc+=("$(python3 -c "import json; print(json.load(open('$T/run/metrics.json'))['test_accuracy'])")")
  peer=$("$PEER" "$T/digits.train" "$T/digits.test" 64 200) || exit 1
  p_acc+=("$(calc "1 - $(kv "$peer" test_err)")")
done
acc=$(mean "${o_acc[@]}")
rf_bench_emit train_accuracy_digits "test accuracy (mean of $RUNS)" "$acc" "$(mean "${p_acc[@]}")" "FANN 2.2, 64 hidden, 200 epochs" 1 1
rf_bench_emit train_accuracy_digits_98 "test accuracy (mean of $RUNS)" "$acc" 0.98 "the target, 98%" 1 1

# (c) large layers: our training step vs OpenBLAS on the same sgemm calls
g=$("$BENCH/train_bench" gemm 30) || exit 1
rf_bench_emit "train_gflops_mlp784" "GFLOP/s (784-512-512-10, batch 256)" "$(kv "$g" ours_gflops)" "$(kv "$g" blas_gflops)" "OpenBLAS sgemm" 1 0.5
