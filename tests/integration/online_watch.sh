#!/usr/bin/env bash
# online_watch.sh: `ruvflow watch-dir` on the local stack of `ruvflow up`
# (its own redis-server, scheduler, workers, file:// storage):
#   - growing files are read up to their last complete line and resumed;
#   - a watcher killed -9 (at the fault points between staging, commit and
#     submit, and at random moments) and restarted delivers every line of
#     every file exactly once, and every batch becomes exactly one run;
#   - a file replaced by a shorter one starts over and says so;
#   - S3 prefixes through the SigV4-checking proxy: new objects staged,
#     unchanged ones not again, a refused key is a clear error;
#   - workflows/online.yaml end to end: bootstrap, then an incremental
#     update through the gate; `ruvflow model ls|rollback`.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
R="$RF_BIN/ruvflow"
export OPENBLAS_NUM_THREADS=1 RUVFLOW_LOG=warn
T=${RF_SHARED:-$here/../shared}/testdata/streamjson

work=$(mktemp -d "${RF_STACK_DIR:-/tmp}/online-XXXXXX")
cd "$work" || exit 1
unset RUVFLOW_REDIS_URL RUVFLOW_STORE RUVFLOW_CONFIG
"$R" up --workers 1 >up.log 2>&1 || { cat up.log; not_ok "ruvflow up"; finish; }
trap '"$R" down --grace 5 >/dev/null 2>&1' EXIT

cat >noop.yaml <<'YAML'
name: batches
params:
  batch: {type: string, default: ".", description: the batch folder}
steps:
  see: {worker: noop, with: {batch: "${{ params.batch }}"}}
YAML

mkdir src
src_files=(
  "$T/presmihaylov__ccagent/services/fixtures/claude_response1.jsonl"
  "$T/ariel-frischer__claude-clean/mocks/claude-stream-json-simple.jsonl"
  "$T/marot__spotter/test/fixtures/transcripts/short.jsonl"
  "$T/marot__spotter/test/fixtures/transcripts/subagent.jsonl"
  "$T/d-kimuson__claude-code-viewer/mock-global-claude-dir/projects/sample-project/1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl"
)
# grow FILE BYTES: append the next BYTES bytes of its source (cutting lines)
grow() {
  local i=$1 n=$2 have
  have=$(stat -c %s "src/f$i.jsonl" 2>/dev/null || echo 0)
  tail -c +$((have + 1)) "${src_files[$i]}" | head -c "$n" >>"src/f$i.jsonl"
}
watch() { "$R" watch-dir src noop.yaml --name w --stage stage --once "$@"; }

# 1. half-written files: only complete lines are staged
for i in 0 1 2; do grow $i 3000; done
watch >w1.out 2>&1
check_eq "first scan exits 0" 0 $?
check "first scan: 3 files in batch 1" grep -q '^batch 1: 3 files' w1.out
check "first scan: run w-b1 submitted" grep -q 'submitted run w-b1' w1.out
for f in stage/batch-000001/*; do
  [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || not_ok "staged $f ends mid-line"
done
watch >w2.out 2>&1
check "nothing new: no batch" bash -c '! grep -q "^batch" w2.out'

# 2. kill -9 at each point between staging, commit and submit
grow 0 5000; grow 3 4000
RUVFLOW_WATCH_FAULT=staged watch >k1.out 2>&1
check_eq "fault after staging: killed" 137 $?
RUVFLOW_WATCH_FAULT=committed watch >k2.out 2>&1
check_eq "fault after commit: killed" 137 $?
check "fault after commit: batch 2 was committed" grep -q '^batch 2: 2 files' k2.out
grow 4 2000
RUVFLOW_WATCH_FAULT=submitted watch >k3.out 2>&1
check_eq "fault after submit: killed" 137 $?
check "restart: the committed batch 2 is submitted before the kill" "$R" status w-b2
watch >k4.out 2>&1
check_eq "restart after a kill during submit exits 0" 0 $?
check "restart: batch 2 is marked submitted (its run already exists)" \
  grep -q 'submitted run w-b2' k4.out
check "restart: then batch 3 is staged and submitted" grep -q 'submitted run w-b3' k4.out

# 3. random kill -9 of a looping watcher while the files keep growing
"$R" watch-dir src noop.yaml --name w --stage stage --every 0.05 >loop.out 2>&1 &
wpid=$!
for round in $(seq 1 12); do
  for i in 0 1 2 3 4; do grow $i $((RANDOM % 4000 + 1)); done
  sleep 0.$((RANDOM % 3 + 1))
  if [ $((round % 3)) -eq 0 ]; then
    kill -9 $wpid 2>/dev/null; wait $wpid 2>/dev/null
    "$R" watch-dir src noop.yaml --name w --stage stage --every 0.05 >>loop.out 2>&1 &
    wpid=$!
  fi
done
kill -9 $wpid 2>/dev/null; wait $wpid 2>/dev/null
for i in 0 1 2 3 4; do grow $i 100000000; done      # every file complete now
watch >final.out 2>&1
check_eq "final scan exits 0" 0 $?

# every line of every file exactly once, in order, across all batches
for i in 0 1 2 3 4; do
  cat stage/batch-*/*-*f$i.jsonl 2>/dev/null >got$i
  cmp -s got$i "src/f$i.jsonl"
  check_eq "f$i: the batches hold every line exactly once" 0 $?
done
batches=$(ls -d stage/batch-* | wc -l)
runs=$("$R" list --limit 100000 --json | grep -o '"w-b[0-9]*"' | sort -u | wc -l)
check_eq "one run per committed batch ($batches)" "$batches" "$runs"

# 4. a file replaced by a shorter one starts over and says so
printf '{"type":"system","subtype":"init","session_id":"s"}\n' >src/f2.jsonl
watch >short.out 2>&1
check "replaced file: says it starts over" grep -q 'f2.jsonl was replaced by a shorter' short.out
last=$(ls -d stage/batch-* | tail -1)
check "replaced file: its new content is staged" grep -q '"session_id":"s"' "$last"/*f2.jsonl

# bad input
"$R" watch-dir nowhere noop.yaml --once >/dev/null 2>bad.err
check_eq "missing folder: exit 3" 3 $?
check "missing folder: says so" grep -q 'nowhere: not a folder' bad.err
"$R" watch-dir src >/dev/null 2>&1
check_eq "usage: exit 2" 2 $?

# 5. S3 prefixes, through the SigV4-checking proxy
if [ -n "${RF_TEST_S3_ENDPOINT:-}" ]; then
  S3="s3://$RF_TEST_S3_BUCKET/online-$$"
  "$R" store put "${src_files[0]}" "$S3/sessions/a.jsonl" >/dev/null
  "$R" store put "${src_files[1]}" "$S3/sessions/b.jsonl" >/dev/null
  "$R" watch-dir "$S3/sessions" noop.yaml --name s3w --stage s3stage --once >s3a.out 2>&1
  check_eq "s3: scan exits 0" 0 $?
  check "s3: both objects in batch 1" grep -q '^batch 1: 2 files' s3a.out
  "$R" watch-dir "$S3/sessions" noop.yaml --name s3w --stage s3stage --once >s3b.out 2>&1
  check "s3: unchanged objects are not staged again" bash -c '! grep -q "^batch" s3b.out'
  "$R" store put "${src_files[2]}" "$S3/sessions/c.jsonl" >/dev/null
  "$R" watch-dir "$S3/sessions" noop.yaml --name s3w --stage s3stage --once >s3c.out 2>&1
  check "s3: a new object alone in batch 2" grep -q '^batch 2: 1 files' s3c.out
  AWS_SECRET_ACCESS_KEY=wrong "$R" watch-dir "$S3/sessions" noop.yaml --name s3w \
    --stage s3stage --once >s3d.out 2>s3d.err
  check "s3: refused credentials fail" test $? -ne 0
  check "s3: the error names the refusal" grep -qi '403\|SignatureDoesNotMatch\|denied' s3d.err
else
  ok "# SKIP s3: no RF_TEST_S3_ENDPOINT (run through tests/run.sh)"
fi

# 6. workflows/online.yaml end to end: bootstrap, then an update via the gate
mkdir on
for i in 0 1 4; do cp "${src_files[$i]}" on/; done
REG="file://$work/registry"
"$R" watch-dir on "$here/workflows/online.yaml" --name on --stage onstage --once \
  -p registry="$REG" >on1.out 2>&1
check "online: batch 1 submitted" grep -q 'submitted run on-b1' on1.out
for i in 2 3; do cp "${src_files[$i]}" on/; done
cat "${src_files[1]}" >>"on/$(basename "${src_files[0]}")"
"$R" watch-dir on "$here/workflows/online.yaml" --name on --stage onstage --once \
  -p registry="$REG" >on2.out 2>&1
check "online: batch 2 submitted" grep -q 'submitted run on-b2' on2.out
for r in on-b1 on-b2; do
  for _ in $(seq 1 120); do
    "$R" status "$r" 2>/dev/null | grep -Eq '^run .*(succeeded|failed)' && break
    sleep 0.5
  done
  check "online: $r succeeded" bash -c "'$R' status $r | grep -q succeeded"
done
"$R" outputs on-b1 update >o1.out 2>&1
check "online: run 1 bootstraps version 1" grep -Eq '^  version +1$' o1.out
"$R" outputs on-b2 update >o2.out 2>&1
check "online: run 2 reports prequential accuracy and baselines" \
  grep -q 'prequential_acc' o2.out
check "online: run 2 reports drift figures" grep -q "psi_labels" o2.out
"$R" status on-b2 >s2.out 2>&1
check "status: the online lines (drift, gate, version)" grep -q "online update/0: .*version [0-9]* in production" s2.out
check "status: drift figures" grep -q "online update/0: prequential accuracy .*drift" s2.out
"$R" model ls --registry "$REG" --model tools >ls.out 2>&1
check "model ls: production and the log" grep -q '^production: version' ls.out
check "model ls: the gate's decision is logged" grep -Eq ' (promote|reject) 1 ' ls.out
"$R" model promote "$(ls "$work"/.ruvflow/store/cas/*/* | head -1)" --registry "$REG" \
  --model tools --reason manual >/dev/null 2>&1
"$R" model rollback --registry "$REG" --model tools >rb.out 2>&1
check_eq "model rollback exits 0" 0 $?
check "model rollback names the version" grep -q 'rolled back: version' rb.out
"$R" model rollback --registry "file://$work/empty" --model tools >/dev/null 2>&1
check_eq "rollback with nothing to roll back to: exit 1 (a state, docs/ruvflow.1)" 1 $?
finish
