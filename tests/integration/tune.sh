#!/usr/bin/env bash
# tune.sh: the tune-trial worker and the search it drives.
#   local mode: an exec objective that crashes for some values is a failed
#   trial and the search goes on; a hanging one is stopped by the timeout;
#   the same history proposes the same point; bad spaces and samplers exit
#   2 naming the key; the summary's best, an all-failed search, and the
#   Pareto front of nsga2 on two objectives;
#   `tune:` steps: lint points into the YAML space;
#   served: a `tune:` search (exec) through a real redis-server, scheduler
#   killed (-9) and restarted mid-search: the run finishes with every trial
#   number once and no point proposed twice.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
T="$RF_BIN/ruvflow-tune-trial"
export OPENBLAS_NUM_THREADS=1

rf_stack_init
work="$RF_STACK_DIR/tune"
mkdir -p "$work"
cd "$work" || exit 1

# The objective: (x - 0.3)^2, crashing (exit 1, a message on stderr) for x > 0.8.
cat >obj.py <<'EOF2'
import json, sys, time
p = json.load(sys.stdin)
if p["x"] > 0.8:
    sys.stderr.write("objective crashed on x=%g\n" % p["x"])
    sys.exit(1)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0)
print(json.dumps({"step": 1, "value": (p["x"] - 0.3) ** 2 + 1}))
print(json.dumps({"value": (p["x"] - 0.3) ** 2, "size": abs(p["x"] - 0.9)}))
EOF2
SP='{"x": {"uniform": [0, 1]}, "k": {"choice": ["a", "b"]}}'
EX='["python3", "obj.py"]'
hist=()
for i in $(seq 0 11); do
  "$T" run --with "space=$SP" --with "exec=$EX" --with sampler=tpe --with startup=4 \
    --with trial=$i --with seed=5 "${hist[@]}" --out t$i >t$i.log 2>&1
  check_eq "search trial $i: the task succeeds" 0 $?
  hist+=(--input history_trial=t$i/trial.json)
done
states=$(for i in $(seq 0 11); do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' t$i/trial.json; done | sort | uniq -c | tr -s ' ')
check "some trials crashed and were recorded failed" grep -q failed <<<"$states"
check "the search went on after them" grep -q complete <<<"$states"
f=$(grep -l '"failed"' t*/trial.json | head -1)
check "a failed trial keeps the program's stderr tail" grep -q 'objective crashed on x=' "$f"
check "a trial asks for the next (spawn)" grep -q '"spawn": 1' t11/metrics.json
check "intermediate reports stream as progress" grep -q '"series":"trial"\|"series": "trial"' t0/progress.jsonl

# Same history, same proposal (a re-delivered or resumed trial proposes nothing new).
"$T" run --with "space=$SP" --with "exec=$EX" --with sampler=tpe --with startup=4 \
  --with trial=11 --with seed=5 "${hist[@]:0:22}" --out again >/dev/null 2>&1
check_eq "same history: same point" "$(python3 -c 'import json; print(json.load(open("t11/trial.json"))["params"])')" \
  "$(python3 -c 'import json; print(json.load(open("again/trial.json"))["params"])')"

ins=(); for i in $(seq 0 11); do ins+=(--input trials=t$i/trial.json); done
"$T" run --with summary=true "${ins[@]}" --out sum >/dev/null 2>&1
check_eq "summary: exits 0" 0 $?
check_eq "summary: one row per trial" 12 "$(wc -l <sum/trials.jsonl)"
check_eq "summary: best is the least value of the complete trials" ok "$(python3 - <<'EOF2'
import json
rows = [json.loads(l) for l in open("sum/trials.jsonl")]
best = json.load(open("sum/best.json"))
done = [r for r in rows if r["state"] == "complete"]
m = min(done, key=lambda r: r["values"][0])
print("ok" if best["trial"] == m["trial"] and best["value"] == m["values"][0] and best["params"] == m["params"] else best)
EOF2
)"

# A hanging program is stopped by the timeout; the trial is failed, in time.
start=$SECONDS
"$T" run --with "space=$SP" --with 'exec=["python3", "obj.py", "30"]' --with timeout=1 \
  --with trial=0 --out hang >/dev/null 2>&1
check_eq "timeout: the task still succeeds (a failed trial)" 0 $?
check "timeout: stopped within seconds" [ $((SECONDS - start)) -lt 10 ]
check "timeout: recorded as timed out" grep -q 'timed out after 1s' hang/trial.json

# Every trial failed: the summary says no trial reported the objective.
"$T" run --with summary=true --input trials=hang/trial.json --out nosum >nosum.log 2>&1
check_eq "all failed: summary exits 2" 2 $?
check "all failed: names the objective" grep -q "no trial reported the objective 'value'" nosum.log

# Bad input exits 2 and names what is wrong.
bad() { # name expected-message with...
  local name=$1 msg=$2; shift 2
  "$T" run --with trial=0 --with "exec=$EX" "$@" --out bad >bad.log 2>&1
  local rc=$?
  check_eq "$name: exit 2" 2 $rc
  check "$name: says '$msg'" grep -qF "$msg" bad.log
}
bad "loguniform at 0" "with.space: lr: loguniform bound must be > 0" \
  --with 'space={"lr": {"loguniform": [0, 1]}}'
bad "inverted range" "x: uniform range [2, 1] is inverted" --with 'space={"x": {"uniform": [2, 1]}}'
bad "conditional on an unknown parameter" "when names unknown parameter 'opt'" \
  --with 'space={"m": {"uniform": [0, 1], "when": {"opt": "sgd"}}}'
bad "unknown sampler" "with.sampler: unknown sampler 'bayes'" --with "space=$SP" --with sampler=bayes
bad "gp on two objectives" "use nsga2" --with "space=$SP" --with sampler=gp --with objective=value,size

# The median pruner stops a clearly worse trial early (grid: x = 0.3, 0.2, 0.1, 5).
cat >curve.py <<'EOF2'
import json, sys, time
x = json.load(sys.stdin)["x"]
for s in range(5):
    print(json.dumps({"step": s, "value": x + 1.0 / (s + 1)}), flush=True)
    time.sleep(0.3)
print(json.dumps({"value": x}))
EOF2
hist=()
for i in 0 1 2 3; do
  "$T" run --with 'space={"x": {"choice": [0.3, 0.2, 0.1, 5.0]}}' --with 'exec=["python3", "curve.py"]' \
    --with sampler=grid --with pruner=median --with prune_startup=2 --with trial=$i "${hist[@]}" \
    --out p$i >/dev/null 2>&1
  hist+=(--input history_trial=p$i/trial.json)
done
st() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["state"], d["params"]["x"], len(d["curve"]), d["seconds"] < 1)' "$1"; }
check_eq "median pruner: the best trial completes" "complete 0.1 5 False" "$(st p2/trial.json)"
check_eq "median pruner: x=5 stopped at its first report, early" "pruned 5.0 1 True" "$(st p3/trial.json)"

# Train mode: train-stage's code on a FANN set; the summary hands on the
# best trial's checkpoint.
data="$here/workflows/data/fann/diabetes.train"
hist=(); cks=()
for i in 0 1 2; do
  "$T" run --input train="$data" --with 'space={"hidden": {"choice": [[4], [8, 4]]}, "lr": {"loguniform": [0.001, 0.1]}}' \
    --with trial=$i --with epochs=15 --with sampler=random "${hist[@]}" --out r$i >r$i.log 2>&1
  check_eq "train trial $i: exits 0" 0 $?
  hist+=(--input history_trial=r$i/trial.json); cks+=(--input checkpoints=r$i/checkpoint.art)
done
check "train trial: reports val_loss" grep -q '"val_loss"' r2/metrics.json
"$T" run --with summary=true --input trials=r0/trial.json --input trials=r1/trial.json \
  --input trials=r2/trial.json "${cks[@]}" --out rsum >rsum.log 2>&1
check_eq "train summary: exits 0" 0 $?
bt=$(python3 -c 'import json; print(json.load(open("rsum/best.json"))["trial"])')
check_eq "train summary: the best trial's checkpoint is handed on" \
  "$(sha256sum <"r$bt/checkpoint.art")" "$(sha256sum <"$(awk -F'\t' '$1 == "checkpoint" {print $2}' rsum.log)")"
check "train trial: reports the trivial baseline on its validation rows" \
  grep -q '"baseline_val_loss"' r2/metrics.json
check_eq "train summary: best.json stands beside the best trial's baseline" True \
  "$(python3 -c 'import json; b=json.load(open("rsum/best.json")); t=json.load(open("r%d/trial.json" % b["trial"])); bl=t["metrics"]["baseline_val_loss"]; print(b["baseline"] == bl and b["beats_baseline"] == (b["value"] < bl) and 0 < bl < 5)')"
check "train summary: says whether the best beats it" \
  grep -qE "best val_loss [0-9.e-]+ \(trial [0-9]+\) (beats|does NOT beat) the trivial baseline" rsum.log
# A search whose best is worse than its baseline says so (maximize: higher is better).
mkdir -p nb
for i in 0 1; do
  python3 -c 'import json,sys; i=int(sys.argv[1]); json.dump({"trial": i, "params": {"x": i}, "state": "complete", "values": [0.6 + 0.1 * i], "objective": ["acc"], "direction": ["maximize"], "metrics": {"acc": 0.6 + 0.1 * i, "baseline_acc": 0.75}}, open("nb/t%d.json" % i, "w"))' $i
done
"$T" run --with summary=true --input trials=nb/t0.json --input trials=nb/t1.json --out nbsum >nbsum.log 2>&1
check_eq "summary below its baseline: exits 0" 0 $?
check_eq "summary below its baseline: beats_baseline false" "False 0.75" \
  "$(python3 -c 'import json; b=json.load(open("nbsum/best.json")); print(b["beats_baseline"], b["baseline"])')"
check "summary below its baseline: the log line says so" grep -q "does NOT beat the trivial baseline 0.75" nbsum.log

# ruvflow lint and submit refuse bad tune steps with FILE:LINE:COL, exit 2.
badwf="$here/tests/workflows/tune/bad-space.yaml"
"$R" lint "$badwf" >lint.log 2>&1
check_eq "lint: bad tune steps exit 2" 2 $?
for want in "bad-space.yaml:12:15: with.space: lr: loguniform bound must be > 0" \
            "bad-space.yaml:9:16: with.sampler: unknown sampler 'bayes'" \
            "bad-space.yaml:10:18: with.direction: 'minimise'" \
            "bad-space.yaml:11:18: with.objective: no train-stage trial reports 'val_los'" \
            "bad-space.yaml:17:15: with.space: x: uniform range [3, 1] is inverted" \
            "bad-space.yaml:26:15: with.space: y: uniform range [1, 1] is empty" \
            "bad-space.yaml:25:15: with.pruner: unknown pruner 'hyperband'"; do
  check "lint: $want" grep -qF "$want" lint.log
done
# The same checks on the `tune:` form point into its YAML space mapping.
"$R" lint "$here/tests/workflows/tune/bad-tune.yaml" >lint2.log 2>&1
check_eq "lint: bad tune: steps exit 2" 2 $?
for want in "bad-tune.yaml:7:26: tune.space: lr: loguniform bound must be > 0" \
            "bad-tune.yaml:8:16: tune.sampler: unknown sampler 'bayes'" \
            "bad-tune.yaml:9:15: tune.pruner: unknown pruner 'hyperband'" \
            "bad-tune.yaml:10:27: tune.objective: no train-stage trial reports 'val_los'" \
            "bad-tune.yaml:15:22: tune.space: x: uniform range [3, 1] is inverted" \
            "bad-tune.yaml:21:22: tune.space: z: uniform range [1, 1] is empty" \
            "bad-tune.yaml:26:36: tune.space: m: when names unknown parameter 'opt'"; do
  check "lint tune: $want" grep -qF "$want" lint2.log
done
"$R" lint -p sampler=bayes "$here/workflows/tune.yaml" >lint3.log 2>&1
check_eq "lint: a params-given sampler is checked too (exit 2)" 2 $?
check "lint: ... at its place" grep -q "tune.yaml:[0-9]*:[0-9]*: tune.sampler: unknown sampler 'bayes'" lint3.log
"$R" lint "$here/workflows/tune.yaml" >/dev/null 2>&1
check_eq "lint: workflows/tune.yaml is fine" 0 $?
"$R" submit "$badwf" >submit.log 2>&1
check_eq "submit: bad tune steps exit 2" 2 $?
check "submit: nothing submitted, says why" grep -q "nothing submitted" submit.log

# Two objectives with nsga2: the front holds only non-dominated trials.
hist=()
for i in $(seq 0 9); do
  "$T" run --with "space=$SP" --with "exec=$EX" --with sampler=nsga2 --with population=4 \
    --with objective=value,size --with trial=$i "${hist[@]}" --out m$i >/dev/null 2>&1
  hist+=(--input history_trial=m$i/trial.json)
done
ins=(); for i in $(seq 0 9); do ins+=(--input trials=m$i/trial.json); done
"$T" run --with summary=true "${ins[@]}" --out msum >/dev/null 2>&1
check_eq "pareto: summary exits 0" 0 $?
"$R" plot --trials msum/trials.jsonl -o front.svg >/dev/null 2>&1
check_eq "plot --trials: exits 0" 0 $?
check "plot: two objectives draw the front" grep -q "Pareto front" front.svg
check_eq "pareto: front is the non-dominated set" ok "$(python3 - <<'EOF2'
import json
rows = [json.loads(l) for l in open("msum/trials.jsonl") if '"complete"' in l]
front = json.load(open("msum/pareto.json"))
dom = lambda a, b: all(x <= y for x, y in zip(a, b)) and a != b
want = sorted(r["trial"] for r in rows if not any(dom(o["values"], r["values"]) for o in rows))
print("ok" if want == sorted(e["trial"] for e in front) and want else (want, front))
EOF2
)"

# --- served: through Redis, the scheduler killed mid-search ---------------
port=$(rf_free_port)
export RUVFLOW_REDIS_URL="redis://127.0.0.1:$port/0" RUVFLOW_STORE="file://$work/store" RUVFLOW_LOG=warn
mkdir -p redis store
redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --save '' \
  --logfile "$work/redis.log" &
RF_STACK_PIDS+=($!)
rf_wait_port "$port"
"$R" scheduler >>sched.log 2>&1 &
SCHED=$!; RF_STACK_PIDS+=($SCHED)
for i in 1 2; do
  "$T" serve --concurrency 2 >>worker$i.log 2>&1 &
  RF_STACK_PIDS+=($!)
done
cat >search.yaml <<EOF2
name: tunesearch
steps:
  search:
    tune:
      trials: 16
      parallel: 3
      sampler: gp
      seed: 2
      objective: {exec: [python3, "$work/obj.py", "0.15"], metric: value, direction: minimize}
      space: {x: {uniform: [0, 1]}, y: {uniform: [-1, 1]}}
EOF2
run=$("$R" submit search.yaml)
sleep 1.5
kill -9 $SCHED
sleep 0.5
"$R" scheduler >>sched.log 2>&1 &
RF_STACK_PIDS+=($!)
end=$((SECONDS + 90))
while [ $SECONDS -lt $end ]; do
  s=$("$R" status "$run" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$s" != running ] && break
  sleep 0.3
done
check_eq "served search, scheduler kill -9: run succeeds" succeeded "$s"
"$R" outputs "$run" search >outs.txt 2>&1
url=$(awk '$1 == "trials" {print $2}' outs.txt)
rows="$work/store/${url#file://$work/store/}"
check_eq "served search: 16 trials, each number once" "16 16" \
  "$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(len(r), len({x["trial"] for x in r}))' "$rows")"
check_eq "served search: no point proposed twice" 16 \
  "$(python3 -c 'import json,sys; print(len({json.dumps(json.loads(l)["params"], sort_keys=True) for l in open(sys.argv[1])}))' "$rows")"
"$R" plot "$run" search -o search.svg >plot.log 2>&1
check_eq "plot RUN STEP of a search: exits 0" 0 $?
check "plot RUN STEP: best so far against trials" grep -q "best so far" search.svg
finish
