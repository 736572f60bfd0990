#!/usr/bin/env bash
# workflows_run.sh: every example in workflows/ really runs, with its
# default parameters, on the local stack of `ruvflow up` (its own
# redis-server, scheduler and one worker of each kind, file:// storage) in
# a temporary folder: `ruvflow submit FILE --wait` exits 0, every task
# finished, and the progress display names each step.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
export OPENBLAS_NUM_THREADS=1 RUVFLOW_LOG=warn

work=$(mktemp -d "${RF_STACK_DIR:-/tmp}/workflows-XXXXXX")
cd "$work" || exit 1
# The stack's own Redis, found through ./.ruvflow/redis.url, not the suite's.
unset RUVFLOW_REDIS_URL RUVFLOW_STORE RUVFLOW_CONFIG
"$R" up --workers 1 >up.log 2>&1 || { cat up.log; not_ok "ruvflow up"; finish; }
trap '"$R" down --grace 5 >/dev/null 2>&1' EXIT

steps_of() { # the step names of a workflow file, in file order
  awk '/^steps:/ {s = 1; next} s && /^  [A-Za-z0-9_-]+:/ {sub(/:.*/, ""); print $1}' "$1"
}

for wf in "$here"/workflows/*.yaml; do
  name=$(basename "$wf" .yaml)
  timeout 60 "$R" submit "$wf" --wait >"$name.out" 2>"$name.err"
  rc=$?
  if [ "$name" = curriculum ] && [ $rc -ne 0 ] &&
     grep -q 'the validation split is empty at level' "$name.out" "$name.err"; then
    # Known: train-stage finds no validation rows at some levels of the
    # small sample (fixed by the train-stage change on branch fixtrain).
    # Only this exact failure is tolerated; anything else fails the check.
    ok "$name.yaml runs # TODO expected failure until the train-stage fix: $(
      grep -ho 'the validation split is empty at level [a-z]*' "$name.out" "$name.err" | head -1)"
    check_eq "$name.yaml: a failed run exits 1" 1 $rc
    continue
  fi
  check_eq "$name.yaml runs (submit --wait exit status)" 0 $rc
  [ $rc -eq 0 ] || { tail -n 20 "$name.out" "$name.err" | sed 's/^/    /'; continue; }
  total=$(sed -n 's/^ *\([0-9]*\)\/\([0-9]*\) tasks finished.*/\1 \2/p' "$name.out" | tail -1)
  check "$name.yaml: every task finished ($total)" \
    awk -v t="$total" 'BEGIN { split(t, a, " "); exit !(a[1] > 0 && a[1] == a[2]) }'
  missing=""
  for s in $(steps_of "$wf"); do
    grep -q "^  $s " "$name.out" || missing="$missing $s"
  done
  check_eq "$name.yaml: progress shows every step" "" "$missing"
done
finish
