#!/usr/bin/env bash
# completion.sh: `ruvflow completion bash|zsh`. bash -n and zsh -n accept
# the scripts; in a real bash with the script sourced, `complete -p` shows
# it registered and completing "ruvflow su" gives submit, "ruvflow submit
# --w" gives --wait, "ruvflow dlq r" gives requeue, and "ruvflow status "
# offers the id of a run submitted to a real Redis; every verb of
# `ruvflow --help` is offered; zsh's function gives the same answers
# (compadd and _describe recorded instead of drawn).
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
. "$RF_ROOT/tests/lib/servers.sh"
rf_stack_init
t=$RF_STACK_DIR/completion; mkdir -p "$t"
R=$RF_BIN/ruvflow
"$R" completion bash >"$t/ruvflow.bash"
check_eq "completion bash exits 0" 0 $?
"$R" completion zsh >"$t/_ruvflow"
check_eq "completion zsh exits 0" 0 $?
"$R" completion fish >/dev/null 2>&1
check_eq "an unknown shell is a usage error (exit 2)" 2 $?
check "bash -n accepts the bash script" bash -n "$t/ruvflow.bash"

rf_start_redis
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_REDIS_PREFIX=cp$$:
printf 'name: comp\nsteps:\n  a: {worker: noop}\n' >"$t/wf.yaml"
run=$("$R" submit "$t/wf.yaml" 2>>"$t/submit.log" | head -1)
check "a run submitted" [ -n "$run" ]

# complete WORDS...: what bash's completion function offers for the line,
# the last word being the one under the cursor.
complete_bash() {
  PATH="$RF_BIN:$PATH" bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    _ruvflow; printf "%s\n" "${COMPREPLY[@]}"' _ "$t/ruvflow.bash" "$@"
}
check "complete -p shows the function registered" bash -c \
  "source '$t/ruvflow.bash'; complete -p ruvflow | grep -q -- '-F _ruvflow'"
check_eq "bash: ruvflow su<Tab> gives submit" submit "$(complete_bash ruvflow su)"
check_eq "bash: ruvflow submit --w<Tab> gives --wait" --wait "$(complete_bash ruvflow submit --w)"
check_eq "bash: ruvflow dlq r<Tab> gives requeue" requeue "$(complete_bash ruvflow dlq r)"
check_eq "bash: ruvflow completion <Tab> gives bash zsh" "bash zsh" \
  "$(complete_bash ruvflow completion '' | tr '\n' ' ' | sed 's/ $//')"
check_eq "bash: ruvflow worker --me<Tab> gives --metrics" --metrics \
  "$(complete_bash ruvflow worker --me)"
check "bash: ruvflow status <Tab> offers the submitted run" \
  grep -qx "$run" <(complete_bash ruvflow status '')
verbs=$("$R" --help | awk 'NR > 2 && NF {print $1}' | sort)
check_eq "bash: every verb of ruvflow --help is offered" "$verbs" \
  "$(complete_bash ruvflow '' | grep -v '^--' | sort)"
# No drift: every flag offered for a verb is in its --help text (--help
# itself is offered everywhere).
drift=$(for v in $verbs; do
  for f in $(complete_bash ruvflow "$v" -- | grep -vx -- --help); do
    "$R" "$v" --help 2>&1 | grep -q -- "$f" || echo "$v $f"
  done
done)
check_eq "every flag offered appears in its verb's --help" "" "$drift"
# With Redis gone, a RUN completion returns within its 1 s bound.
RUVFLOW_REDIS_URL=redis://127.0.0.1:1/0; s=$(date +%s%N)
complete_bash ruvflow status '' >/dev/null
ms=$(( ($(date +%s%N) - s) / 1000000 ))
check "bash: a dead Redis does not hang a Tab (${ms} ms)" [ $ms -lt 2500 ]
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL

if ! command -v zsh >/dev/null; then echo "skip - zsh is not installed"; finish; fi
check "zsh -n accepts the zsh script" zsh -n "$t/_ruvflow"
# complete_zsh WORDS...: the zsh function with compsys' builtins recorded.
complete_zsh() {
  PATH="$RF_BIN:$PATH" zsh -f -c '
    compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }
    _describe() { local a; for a in ${(P)${@[-1]}}; do print -- ${a%%:*}; done; }
    _files() { print -- FILES; }
    source "$1"; shift
    words=("$@"); CURRENT=$#; PREFIX=${words[-1]}
    _ruvflow | grep -- "^${PREFIX}"' _ "$t/_ruvflow" "$@"
}
check_eq "zsh: ruvflow su<Tab> gives submit" submit "$(complete_zsh ruvflow su)"
check_eq "zsh: ruvflow submit --w<Tab> gives --wait" --wait "$(complete_zsh ruvflow submit --w)"
check_eq "zsh: ruvflow dlq r<Tab> gives requeue" requeue "$(complete_zsh ruvflow dlq r)"
check "zsh: ruvflow status <Tab> offers the submitted run" \
  grep -qx "$run" <(complete_zsh ruvflow status '')
finish
