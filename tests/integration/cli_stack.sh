#!/usr/bin/env bash
# cli_stack.sh: what a user sees on the local stack of `ruvflow up` is true.
# Runs workflows/quickstart.yaml on a private stack in a temporary folder,
# then checks from a subfolder: the stack is found walking up the parents
# (and a folder without one says where it looked), `config show` prints the
# effective Redis and its source, outputs land in their step's tier and
# `store tier` moves them, --json everywhere it is offered, whole numbers as
# integers, and logs that name the user's files.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
export OPENBLAS_NUM_THREADS=1 RUVFLOW_LOG=warn
# Nothing above the temporary folders may count as a stack.
export RUVFLOW_CEILING_DIRECTORIES=/tmp
unset RUVFLOW_REDIS_URL RUVFLOW_STORE RUVFLOW_CONFIG

work=$(mktemp -d "${TMPDIR:-/tmp}"/cli-stack-XXXXXX)
away=$(mktemp -d "${TMPDIR:-/tmp}"/cli-away-XXXXXX)
cd "$work" || exit 1
"$R" up --workers 1 >up.log 2>&1 || { cat up.log; not_ok "ruvflow up"; finish; }
trap 'cd /; "$R" down --grace 5 >/dev/null 2>&1 </dev/null; rm -rf "$away" "$work"' EXIT
url=$(cat .ruvflow/redis.url)
# jq -e on a file that must not be empty (jq -e passes on no input at all)
jqe() { [ -s "${@: -1}" ] && jq -e "$@" >/dev/null; }

timeout 120 "$R" submit "$here/workflows/quickstart.yaml" --wait >q.out 2>q.err
check_eq "quickstart runs" 0 $?
run=$(head -1 q.out)

mkdir -p sub/deeper && cd sub/deeper || exit 1
# ---- the stack, found like git finds its repository ----
"$R" status "$run" >status.out 2>&1
check_eq "status from a subfolder finds the stack" 0 $?
"$R" logs "$run" >logs.out 2>&1
check_eq "logs from a subfolder finds the stack" 0 $?
"$R" config show >config.out
check "config show: the stack's Redis" grep -qx "redis_url = $url" config.out
check "config show: where it came from" \
  grep -qx "# from stack $work/.ruvflow/redis.url" config.out
check "config show: the stack's store" grep -qx "store = file://$work/.ruvflow/store" config.out
(cd "$away" && "$R" logs "$run" >/dev/null 2>"$away/err")
check_eq "no stack: logs fails (6: network)" 6 $?
check "no stack: the error says where it looked" \
  grep -q "looked for .ruvflow/ in $away" "$away/err"
"$R" down --help >/dev/null
check_eq "down --help" 0 $?

# ---- logs name the user's files; non-log files skipped once ----
check "logs never name the worker's temporary copies" \
  bash -c '[ -s logs.out ] && ! grep -q "ruvflow-task-" logs.out'
check "logs name the user's session file" \
  grep -q "$here/workflows/data/sessions/presmihaylov__claude_response1.jsonl.zst:" logs.out
check_eq "SOURCE.md skipped, said once" 1 "$(grep -c 'SOURCE.md' logs.out)"
check "SOURCE.md is not parsed line by line" \
  bash -c '[ -s logs.out ] && ! grep -q "SOURCE.md:[0-9]" logs.out'

# ---- tiers ----
"$R" outputs "$run" folds >folds.out
check "outputs: the step's tier is shown" grep -q '/warm/cas/.*(warm)$' folds.out
model=$("$R" outputs "$run" folds --json | jq -r '.[0].outputs.model')
check "outputs: a warm step's output is in the warm folder" [ -f "${model#file://}" ]
"$R" store tier "$model" cold >tier.out 2>&1
check_eq "store tier URL cold works on a step's output" 0 $?
"$R" outputs "$run" folds --json >moved.json
check "outputs after the move: cold" \
  jqe '.[0].tiers.model == "cold" and (.[0].outputs.model | test("/cold/cas/"))' moved.json
check "the moved object is in the cold folder" [ -f "$work/.ruvflow/store/cold/${model#*/warm/}" ]

# ---- --json ----
"$R" logs "$run" --json >logs.json
check "logs --json: JSON lines with task and line" \
  jqe -s 'length > 3 and all(.[]; has("task") and has("line") and has("time_ms"))' logs.json
"$R" watch "$run" --json >watch.json
check_eq "watch --json exits 0 (succeeded)" 0 $?
check "watch --json: progress points and a final status" \
  jqe -s 'any(.[]; .type == "progress" and (.values | type) == "object") and
          (.[-1].type == "status" and .[-1].state == "succeeded")' watch.json
"$R" outputs "$run" prep --json >prep.json
check "outputs --json: named keys" \
  jqe '.[0] | has("task") and has("state") and has("outputs") and has("metrics")
         and (has("o") | not)' prep.json
timeout 60 "$R" submit "$here/workflows/quickstart.yaml" --wait >q2.out 2>&1
run2=$(head -1 q2.out)
"$R" status "$run2" --json >st2.json
check "status --json: cached tasks count as done" \
  jqe 'all(.steps[]; .done == .total and .cached == .total)' st2.json
"$R" lint "$here/workflows/kfold.yaml" --json >lint.json
check "lint --json: valid" jqe '.valid and .steps > 0 and (.problems | length) == 0' lint.json
printf 'name: x\nsteps:\n  a: {worker: nosuch}\n' >bad.yaml
"$R" lint bad.yaml --json >lintbad.json 2>/dev/null
check_eq "lint --json: invalid exits 2" 2 $?
check "lint --json: the problem with line and column" \
  jqe '(.valid | not) and .problems[0].line == 3 and .problems[0].col > 0' lintbad.json
"$R" store ls "file://$work/.ruvflow/store/" -r --json >ls.json
check "store ls --json: JSON lines with url and size" \
  jqe -s 'length > 3 and all(.[]; has("url") and has("key"))' ls.json

# ---- integers as integers ----
"$R" outputs "$run" prep >prep.out
check "whole-number metrics print as integers" grep -Eq '^  files +6$' prep.out
check "no number printed in e-notation" \
  bash -c '[ -s prep.out ] && ! grep -Eq "[0-9]e[+-][0-9]" prep.out folds.out'

# ---- plot from the subfolder ----
"$R" plot "$run" curriculum -o c.svg
check_eq "plot curriculum exits 0" 0 $?
check "plot curriculum: one series per stage" \
  bash -c 'for k in 0 1 2; do grep -q ">curriculum/$k<" c.svg || exit 1; done'
"$R" plot "$run" folds -o f.svg
check_eq "plot folds exits 0" 0 $?

# ---- the ETA of --wait, also when not on a terminal ----
cat >slow.yaml <<'EOF'
name: slow
steps:
  nap: {worker: sleep, chain: {range: 3}, with: {ms: 1200, i: "${{ item }}"}}
EOF
timeout 60 "$R" submit slow.yaml --wait >slow.out 2>&1
check_eq "slow run succeeds" 0 $?
check "submit --wait (not a terminal) shows an ETA while running" \
  grep -Eq ': running, [12]/3 tasks finished, 0 failed, .* elapsed, ETA [0-9.]+s' slow.out
finish
