#!/usr/bin/env bash
# bench_tune: the tuner on Branin (optimum 0.397887) and Hartmann-6
# (optimum -3.32237), each trial a program in the exec form
# (tune_bench eval FUNC, run through rf_proc like a tune-trial runs it),
# RF_BENCH_TUNE_SEEDS seeds (default 20): median best value after 30, 60 and
# 100 trials for each of our samplers, against Optuna 3.1 (Debian
# python3-optuna; TPE and CMA-ES, its samplers for continuous spaces; 3.1
# has no GP sampler) on the same functions and seeds, objective in-process
# as Optuna users run it. Emitted as regret (best - optimum, lower is
# better) of our GP against Optuna's best sampler at each budget; target
# ratio <= 1. Also ms per GP proposal at 200 finished trials (target < 50)
# against Optuna TPE's ask() at 200 trials.
set -uo pipefail
. "$RF_ROOT/tests/bench/lib.sh"
B="$RF_ROOT/${BUILD:-build}/bench/tune_bench"
SEEDS=${RF_BENCH_TUNE_SEEDS:-20}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for f in branin hartmann6; do
  for s in random sobol tpe gp; do
    "$B" run "$f" "$s" "$SEEDS" 100 >>"$tmp/ours.jsonl" || exit 1
  done
done
ours_ms=$("$B" overhead 200) || exit 1
/usr/bin/python3 - "$SEEDS" >"$tmp/peer.jsonl" <<'PY' || exit 1
import math, statistics, sys, time, warnings
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore")
seeds = int(sys.argv[1])
def branin(t):
    x1, x2 = t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[.1312, .1696, .5569, .0124, .8283, .5886], [.2329, .4135, .8307, .3736, .1004, .9991],
     [.2348, .1451, .3522, .2883, .3047, .6650], [.4047, .8828, .8732, .5743, .1091, .0381]]
AL = [1.0, 1.2, 3.0, 3.2]
def hartmann6(t):
    x = [t.suggest_float(f"x{j+1}", 0, 1) for j in range(6)]
    return -sum(AL[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))) for i in range(4))
import json
samplers = {"optuna-tpe": lambda s: optuna.samplers.TPESampler(seed=s),
            "optuna-cmaes": lambda s: optuna.samplers.CmaEsSampler(seed=s)}
for fname, fn in (("branin", branin), ("hartmann6", hartmann6)):
    for sname, mk in samplers.items():
        bests = {30: [], 60: [], 100: []}
        for s in range(seeds):
            st = optuna.create_study(sampler=mk(s))
            st.optimize(fn, n_trials=100)
            vals = [t.value for t in st.trials]
            for b in bests:
                bests[b].append(min(vals[:b]))
        print(json.dumps({"func": fname, "sampler": sname,
                          **{str(b): statistics.median(v) for b, v in bests.items()}}))
st = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
st.optimize(hartmann6, n_trials=200)
t0 = time.perf_counter()
for _ in range(5):
    t = st.ask(); st.tell(t, hartmann6(t))
print(json.dumps({"overhead_ms": (time.perf_counter() - t0) / 5 * 1000}))
PY
python3 - "$tmp/ours.jsonl" "$tmp/peer.jsonl" "$ours_ms" >"$tmp/emit.txt" <<'PY' || exit 1
import json, sys
opt = {"branin": 0.397887, "hartmann6": -3.32237}
rows = [json.loads(l) for f in sys.argv[1:3] for l in open(f) if l.strip()]
peer_ms = next(r["overhead_ms"] for r in rows if "overhead_ms" in r)
rows = [r for r in rows if "func" in r]
print(f"{'function':10} {'sampler':13} {'@30':>10} {'@60':>10} {'@100':>10}   (median best, lower is better)", file=sys.stderr)
for r in rows:
    print(f"{r['func']:10} {r['sampler']:13} " + " ".join(f"{r[b]:10.5g}" for b in ("30", "60", "100")), file=sys.stderr)
for f in opt:
    for b in ("30", "60", "100"):
        gp = next(r[b] for r in rows if r["func"] == f and r["sampler"] == "gp")
        peers = [r for r in rows if r["func"] == f and r["sampler"].startswith("optuna")]
        best = min(peers, key=lambda r: r[b])
        print(f"tune_{f}_gp_regret@{b} median_regret {gp - opt[f]:.6g} {best[b] - opt[f]:.6g} {best['sampler']} 0 1")
print(f"tune_gp_proposal_ms@200 ms {sys.argv[3]} {peer_ms:.4g} optuna-tpe-ask 0 -")
print(f"GP-EI Branin median at 30 within {100 * (next(r['30'] for r in rows if r['func'] == 'branin' and r['sampler'] == 'gp') / opt['branin'] - 1):.3f}% of the optimum (target 0.5%); "
      f"Hartmann-6 at 100: {next(r['100'] for r in rows if r['func'] == 'hartmann6' and r['sampler'] == 'gp'):.5g} (target < -3.2); "
      f"GP proposal {sys.argv[3]} ms at 200 trials (target < 50)", file=sys.stderr)
PY
while read -r name unit ours peer pname hib target; do
  rf_bench_emit "$name" "$unit" "$ours" "$peer" "$pname" "$hib" "$target"
done <"$tmp/emit.txt"
