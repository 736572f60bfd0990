#!/usr/bin/env bash
# bench_online.sh: online learning on the shared Claude Code session logs
# ($RF_SHARED/testdata/streamjson, preprocessed as workflows/online.yaml
# does: tool-selection rows, hash_dim 512), replayed in their order as if
# they arrived 20 rows at a time (tests/bench/online_bench.c). Prequential
# (test-then-train) accuracy, mean of $RUNS seeds:
#   online_preq_acc_vs_full: incremental against retraining from scratch on
#       everything seen at every step; target: within 2 points, emitted as
#       ours / (full - 0.02) >= 1;
#   online_train_seconds: total training time, incremental vs full
#       retraining; target <= 0.2;
#   online_preq_acc_vs_frozen: against the model frozen after the first
#       batch; target >= 1;
#   online_preq_acc_vs_majority, online_preq_acc_vs_previous: against the
#       trivial baselines on the same rows (majority label so far; the
#       previous tool of the same session); target >= 1: a MISS says the
#       model does not beat that baseline;
#   online_drift_delay_rows: rows from a synthetic change of the tool
#       distribution (halfway) to the first alarm; target <= 200 rows, and
#       online_drift_false_alarms before the change (target 0).
set -uo pipefail
. "$RF_ROOT/tests/bench/lib.sh"
export OPENBLAS_NUM_THREADS=1
RUNS=${RF_BENCH_ONLINE_RUNS:-5}
T=$(mktemp -d /tmp/rf_bench_online.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$RF_BIN/ruvflow-preprocess" run --input sessions="$RF_SHARED/testdata/streamjson" \
  --with task=tool-selection --with hash_dim=512 --out "$T/p" >"$T/prep.log" 2>&1 ||
  { cat "$T/prep.log" >&2; exit 1; }
for seed in $(seq 1 "$RUNS"); do
  "$RF_ROOT/${BUILD:-build}/bench/online_bench" "$T/p/dataset.art" 20 "$seed" || exit 1
done >"$T/runs"
cat "$T/runs" >&2
mean() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$T/runs" | awk '{s += $1; n++} END {printf "%.6f", s / n}'; }
inc=$(mean inc_acc); full=$(mean full_acc); frozen=$(mean frozen_acc)
maj=$(mean majority_acc); prev=$(mean previous_acc)
echo "prequential accuracy (mean of $RUNS seeds): incremental $inc, full retrain $full," \
  "frozen $frozen; baselines: majority $maj, previous tool $prev" >&2
rf_bench_emit online_preq_acc_vs_full accuracy "$inc" \
  "$(awk -v f="$full" 'BEGIN {printf "%.6f", f - 0.02}')" "full-retrain-2pts" 1 1
rf_bench_emit online_train_seconds seconds "$(mean inc_seconds)" "$(mean full_seconds)" \
  full-retrain 0 0.2
rf_bench_emit online_preq_acc_vs_frozen accuracy "$inc" "$frozen" frozen-model 1 1
rf_bench_emit online_preq_acc_vs_majority accuracy "$inc" "$maj" majority-baseline 1 1
rf_bench_emit online_preq_acc_vs_previous accuracy "$inc" "$prev" previous-tool-baseline 1 1
rf_bench_emit online_full_retrain_vs_previous accuracy "$full" "$prev" previous-tool-baseline 1 1
rf_bench_emit online_drift_delay_rows rows "$(mean drift_delay)" 200 200-row-target 0 1
rf_bench_emit online_drift_false_alarms alarms "$(mean false_alarms)" - - 0 -
