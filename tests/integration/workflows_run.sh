#!/usr/bin/env bash
# workflows_run.sh: every example in workflows/ really runs, with its
# default parameters, on the local stack of `ruvflow up` (its own
# redis-server, scheduler and one worker of each kind, file:// storage) in
# a temporary folder: `ruvflow submit FILE --wait` exits 0, every task
# finished, and the progress display names each step. Then `submit --wait`
# itself: a failed run's exit status and report, and the live display on a
# terminal.
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

# approval.yaml waits for a decision: submit it, wait until status shows
# the gate waiting, approve it, and wait for the end (the output is the last
# status, as submit --wait prints it; the exit status that of the run).
approve_run() {
  local run i
  run=$("$R" submit "$1") || return 2
  for i in $(seq 100); do
    "$R" status "$run" --json | jq -e '.steps[] | select(.waiting_approval)' \
      >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$R" approve "$run" gate >&2 || return 1
  for i in $(seq 100); do
    "$R" status "$run" --json | jq -e '.state != "running"' >/dev/null && break
    sleep 0.2
  done
  "$R" status "$run"
  "$R" status "$run" --json | jq -e '.state == "succeeded"' >/dev/null
}

steps_of() { # the step names of a workflow file, in file order
  awk '/^steps:/ {s = 1; next} s && /^  [A-Za-z0-9_-]+:/ {sub(/:.*/, ""); print $1}' "$1"
}

for wf in "$here"/workflows/*.yaml; do
  name=$(basename "$wf" .yaml)
  extra=()   # a worktree need not sit beside shared/: name it (tests/run.sh)
  [ "$name" = tool-selection ] && extra=(-p sessions="$RF_SHARED/testdata/streamjson")
  # a registry of this run's own: the default one outlives runs (it is meant to)
  [ "$name" = online ] && extra=(-p registry="file://$work/models")
  if [ "$name" = approval ]; then
    approve_run "$wf" >"$name.out" 2>"$name.err"
  else
    timeout 120 "$R" submit "$wf" "${extra[@]}" --wait >"$name.out" 2>"$name.err"
  fi
  rc=$?
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

# submit --wait: a failed run exits 1 and says which task failed and why.
cat >fails.yaml <<'EOF'
name: fails
steps:
  ok: {worker: noop}
  bad: {worker: sleep, needs: ok, with: {ms: lots}, retries: 0}
  after: {worker: noop, needs: bad}
EOF
"$R" submit fails.yaml --wait >fails.out 2>&1
check_eq "failed run: submit --wait exits 1" 1 $?
check "failed run: final state failed" grep -q ': failed, 1/3 tasks finished, 1 failed' fails.out
check "failed run: the step's FAILED column" grep -Eq '^  bad +sleep +1 +0 +0 +0 +1 +0$' fails.out
check "failed run: the reason" grep -q 'error: bad/0: with.ms: expected an integer, got "lots"' fails.out
check "failed run: a step that will never run is skipped, not queued" \
  grep -Eq '^  after +noop +1 +0 +0 +0 +0 +1  \(not run\)$' fails.out
check "failed run: why it was skipped" \
  grep -q '1 task skipped, not run: the run failed' fails.out
frun=$(head -1 fails.out)
check "failed run: status --json counts it as skipped" \
  bash -c "\"$R\" status $frun --json | jq -en 'input | (.steps[] | select(.name == \"after\") |
    .skipped == 1 and .not_run == 1 and .queued == 0 and .pending == 0) and
    .not_run_reason == \"the run failed\"' >/dev/null"

# On a terminal the display is redrawn in place while the run progresses.
if command -v script >/dev/null; then
  cat >slow.yaml <<'EOF'
name: slow
steps:
  nap: {worker: sleep, foreach: {range: 3}, with: {ms: 400, i: "${{ item }}"}}
EOF
  script -qec "$R submit slow.yaml --wait" /dev/null >tty.out 2>&1
  check_eq "terminal: submit --wait exits 0" 0 $?
  check "terminal: redrawn in place" grep -q $'\e\[[0-9]*A' tty.out
  check "terminal: a frame while running" grep -q 'running' tty.out
  check "terminal: last frame succeeded" bash -c "grep 'run slow' tty.out | tail -1 | grep -q succeeded"
fi
finish
