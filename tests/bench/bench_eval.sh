#!/usr/bin/env bash
# bench_eval: classification metrics of 1M predictions (10 classes) and a
# 5-fold stratified assignment of 1M rows, ours against scikit-learn
# (Debian's /usr/bin/python3) on the same sizes, best of 3 each. Lower is
# better; the target is at least 5x faster than scikit-learn.
set -uo pipefail
. "$RF_ROOT/tests/bench/lib.sh"
N=${RF_BENCH_EVAL_ROWS:-1000000}
K=10
ours=$("$RF_ROOT/${BUILD:-build}/bench/bench_eval" "$N" "$K") || exit 1
peer=$(/usr/bin/python3 - "$N" "$K" <<'PY'
import sys, time
import numpy as np
from sklearn import metrics
from sklearn.model_selection import StratifiedKFold
n, k = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
y = rng.integers(0, k, n)
p = rng.random((n, k)).astype(np.float32)
p[np.arange(n), y] += 1
p /= p.sum(axis=1, keepdims=True)
def m():
    pred = p.argmax(axis=1)
    metrics.accuracy_score(y, pred)
    metrics.precision_recall_fscore_support(y, pred, labels=range(k), zero_division=0)
    metrics.f1_score(y, pred, average="macro")
    metrics.log_loss(y, p, labels=range(k))
    metrics.confusion_matrix(y, pred, labels=range(k))
def s():
    list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(n), y))
for name, f in (("metrics", m), ("split", s)):
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter(); f(); best = min(best, time.perf_counter() - t0)
    print(name, best)
PY
) || exit 1
get() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
rf_bench_emit eval_metrics_1m_10class seconds "$(get metrics "$ours")" \
  "$(get metrics "$peer")" scikit-learn 0 0.2
rf_bench_emit eval_stratified_split_1m seconds "$(get split "$ours")" \
  "$(get split "$peer")" scikit-learn 0 0.2
