#!/usr/bin/env bash
# demo.sh: `make demo`. Starts the local stack (ruvflow up), runs
# workflows/quickstart.yaml end to end (preprocess real session logs, a
# short training curriculum, a k-fold evaluation with its aggregate), prints
# a summary of the outputs, and always stops the stack (ruvflow down), also
# on failure or Ctrl-C. The stack lives in $BUILD/demo/.ruvflow (logs,
# artifacts) and is kept for inspection.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
R="$root/$BUILD/bin/ruvflow"
workflow="$root/workflows/quickstart.yaml"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

[ -x "$R" ] || { echo "demo: $R not built; run make" >&2; exit 1; }
demo=${RF_DEMO_DIR:-$root/$BUILD/demo}   # tests run it in a folder of their own
mkdir -p "$demo"
cd "$demo"

# A Redis named by the environment would be used instead of a private one;
# the demo wants its own, fresh, so that every task really runs.
unset RUVFLOW_REDIS_URL
[ -d "$demo/.ruvflow" ] && { "$R" down --grace 5 >/dev/null 2>&1 || true; }
rm -rf "$demo/.ruvflow"
"$R" up --workers 1
trap '"$R" down --grace 10 >/dev/null || true' EXIT
trap 'exit 130' INT TERM

echo
echo "== ruvflow submit workflows/quickstart.yaml --wait"
set +e
out=$("$R" submit "$workflow" --wait | tee /dev/stderr)
rc=$?
set -e
run=$(echo "$out" | head -1)
if [ $rc -ne 0 ]; then
  echo "demo: the run did not succeed (exit $rc); its logs:" >&2
  "$R" logs "$run" | tail -n 40 >&2 || true
  echo "(stack logs: $demo/.ruvflow/logs)" >&2
  exit 1
fi

echo
echo "== summary of run $run"
for step in prep curriculum folds aggregate; do
  "$R" outputs "$run" "$step" --json >"$demo/$step.json"
done
agg_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["outputs"]["aggregate"])' \
  "$demo/aggregate.json")
"$R" store get "$agg_url" "$demo/aggregate-doc.json" >/dev/null
python3 - "$demo" <<'PY'
import json, os, sys
d = sys.argv[1]
load = lambda s: json.load(open(os.path.join(d, s + ".json")))
def num(v):   # whole numbers as integers, never 1.587e+06
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, float) and abs(v) >= 1e4:
        return f"{v:.0f}"
    return f"{v:.4g}" if isinstance(v, float) else str(v)
def how(t):
    return {"cached": " (cached)", "skipped": " (skipped)"}.get(t.get("state"), "")

prep = load("prep")[0]
print("preprocess" + how(prep))
for k in ("dataset", "summary"):
    if k in prep["outputs"]:
        print(f"  {k:10} {prep['outputs'][k]}")
for k in sorted(prep["metrics"]):
    print(f"  {k:22} {num(prep['metrics'][k])}")

print("curriculum (one stage per line, each from the previous checkpoint)")
for i, t in enumerate(load("curriculum")):
    m = t.get("metrics", {})
    cols = [f"{k}={num(m[k])}" for k in ("epochs", "best_val_accuracy", "test_accuracy",
                                          "graduated", "graduate_threshold", "seconds")
            if m.get(k) is not None]
    if m.get("graduate_threshold") is None:
        cols.append("(no validation rows: nothing to graduate on)")
    elif not m.get("graduated"):
        cols.append("(best validation accuracy below the threshold: the best trivial "
                    "baseline on its validation rows)")
    print(f"  stage {i}{how(t)}: " + "  ".join(cols))

print("cross-validation folds")
for i, t in enumerate(load("folds")):
    m = t.get("metrics", {})
    cols = [f"{k}={num(m[k])}" for k in sorted(m) if k in
            ("accuracy", "macro_f1", "log_loss", "mse", "train_rows", "test_rows")]
    print(f"  fold {i}{how(t)}: " + "  ".join(cols))

agg = load("aggregate")[0]
m = agg.get("metrics", {})
print(f"aggregate over {num(m.get('n_folds', 0))} folds{how(agg)}: mean +- std [95% CI]")
for k in sorted(m):
    if k.endswith(("_std", "_ci95_low", "_ci95_high")) or f"{k}_std" not in m:
        continue
    lo, hi = m.get(f"{k}_ci95_low"), m.get(f"{k}_ci95_high")
    ci = f"[{num(lo)}, {num(hi)}]" if lo is not None else ""
    print(f"  {k:26} {num(m[k]):>10} +- {num(m[k + '_std']):<10} {ci}")
for k, v in agg.get("outputs", {}).items():
    print(f"  {k:10} {v}")

# The one line that says whether the model learned anything: its accuracy
# against the best trivial baseline on the same folds (docs/evaluation.md).
vs = load("aggregate-doc").get("vs_baseline")
if vs:
    what = {"previous": "previous tool", "markov": "bigram on the previous tool",
            "majority": "most common tool"}.get(vs["baseline"], vs["description"])
    lift = vs["lift"]
    ci = lambda v: "nan" if v is None else f"{v:+.2f}"
    print(f"model {vs['model']:.2f} vs best baseline ({what}) {vs['baseline_mean']:.2f}: "
          f"{lift['mean']:+.2f} [{ci(lift['ci95_low'])}, {ci(lift['ci95_high'])}]")
    if vs["beats_baseline"]:
        print("  the model beats the best baseline (the 95% CI of the lift is above 0)")
    elif vs["verdict"] == "is worse than":
        print("  the model does NOT beat the best baseline: it is worse "
              "(the 95% CI of the lift is below 0)")
    else:
        print("  the model does NOT beat the best baseline "
              "(the 95% CI of the lift includes 0)")
PY
echo
echo "== the same workflow again: every task is satisfied from the cache"
out=$("$R" submit "$workflow" --wait)
run2=$(echo "$out" | head -1)
"$R" status "$run2" | tail -n 1
echo
echo "demo: ok (artifacts in $demo/.ruvflow/store; ruvflow status $run)"
