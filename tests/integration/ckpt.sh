#!/usr/bin/env bash
# ckpt: the checkpoint repository from the CLI and the checkpoint-compact
# worker, on checkpoints of a real training run on the shipped sessions:
# bit-exact checkout, verify naming a damaged chunk, refs, the registry's
# gate and rollback, bad input, and kill -9 mid-compaction then a rerun.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/assert.sh
BIN=${RF_BIN:-build/bin}
RF=$BIN/ruvflow
W=$BIN/ruvflow-checkpoint-compact
GEN=${RF_BENCH_BIN:-$(dirname "$BIN")/bench}/ckpt_gen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export RUVFLOW_CONFIG=/dev/null TMPDIR="$tmp"
R=file://$tmp/repo

"$BIN/ruvflow-preprocess" run --input sessions=workflows/data/sessions --with task=tool-selection \
  --out "$tmp/prep" >/dev/null 2>&1
check_eq "preprocess the shipped sessions" 0 $?
mkdir -p "$tmp/ck"
"$GEN" "$tmp/prep/dataset.art" "$tmp/ck" 12 >/dev/null
check_eq "a checkpoint every epoch" 12 "$(ls "$tmp/ck" | wc -l)"

"$RF" ckpt --repo "$R" commit "$tmp"/ck/epoch-00[1-6].art --branch main --meta val_acc=0.5 \
  >"$tmp/commit.out"
check_eq "commit six checkpoints" 0 $?
check "later versions are deltas" grep -q "epoch-002.art.* [1-9][0-9]* deltas" "$tmp/commit.out"
"$RF" ckpt --repo "$R" checkout main~2 -o "$tmp/e4.art"
check "checkout main~2 is bit-exact" cmp -s "$tmp/e4.art" "$tmp/ck/epoch-004.art"
check_eq "log lists six versions" 6 "$("$RF" ckpt --repo "$R" log main | wc -l)"
"$RF" ckpt --repo "$R" tag good main~1 >/dev/null
check_eq "tag resolves" "$("$RF" ckpt --repo "$R" show main~1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" \
  "$("$RF" ckpt --repo "$R" show good --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
check "diff counts changed blocks" sh -c "'$RF' ckpt --repo '$R' diff main~1 main | grep -q 'params.*: [0-9]* of [0-9]* blocks changed'"
"$RF" ckpt --repo "$R" verify main >/dev/null
check_eq "verify a good version" 0 $?

# a damaged chunk: verify fails with exit 4 and names it
id=$("$RF" ckpt --repo "$R" show main --json | python3 -c '
import json,sys; v=json.load(sys.stdin)
print([t for t in v["tensors"] if t["path"]==["params"]][0]["blocks"][0])')
f="$tmp/repo/chunks/${id:0:2}/$id"
cp "$f" "$tmp/saved"
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
"$RF" ckpt --repo "$R" verify main 2>"$tmp/verify.err"
check_eq "verify of a damaged chunk exits 4" 4 $?
check "verify names the chunk" grep -q "chunk chunks/${id:0:2}/$id" "$tmp/verify.err"
head -c 60 "$tmp/saved" >"$f"
check_fails "verify of a truncated chunk fails" "$RF" ckpt --repo "$R" verify main
check_fails "checkout of a damaged version fails" "$RF" ckpt --repo "$R" checkout main -o "$tmp/bad.art"
check "and writes nothing" test ! -e "$tmp/bad.art"
cp "$tmp/saved" "$f"

# registry
"$RF" model --repo "$R" promote main --channel production --require 'val_acc>=0.4' >/dev/null
check_eq "promote behind a passing gate" 0 $?
check_fails "a failing gate refuses" "$RF" model --repo "$R" promote good --channel production --require 'val_acc>=0.9'
check_fails "promote of an unknown version" "$RF" model --repo "$R" promote nosuch --channel production
"$RF" model --repo "$R" promote good --channel production >/dev/null
"$RF" model --repo "$R" rollback --channel production >"$tmp/rb.out"
check_eq "rollback exits 0" 0 $?
check "model ls shows the channel" sh -c "'$RF' model --repo '$R' ls | grep -q '^production .*rollback; 3 changes'"
check_fails "commit of a missing file" "$RF" ckpt --repo "$R" commit "$tmp/nope.art" --branch main
check_fails "a missing parent" "$RF" ckpt --repo "$R" commit "$tmp/ck/epoch-007.art" --parent 0123456789ab

# kill -9 mid-compaction; every earlier version stays readable; the rerun completes
args=()
for f in "$tmp"/ck/*.art; do args+=(--input "checkpoints=$f"); done
"$W" run "${args[@]}" --with branch=k --with repo="$R" --out "$tmp/w1" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
  [ -e "$tmp/repo/refs/heads/k" ] && [ "$("$RF" ckpt --repo "$R" log k 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.02
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
n=$("$RF" ckpt --repo "$R" log k | wc -l)
check "killed mid-run ($n of 12 versions)" test "$n" -lt 12
bad=0
for v in $("$RF" ckpt --repo "$R" log k | cut -d' ' -f1); do
  "$RF" ckpt --repo "$R" verify "$v" >/dev/null 2>&1 || bad=$((bad + 1))
done
check_eq "every version written before the kill verifies" 0 $bad
"$W" run "${args[@]}" --with branch=k --with repo="$R" --with promote=staging --out "$tmp/w2" \
  >/dev/null 2>"$tmp/w2.err"
check_eq "the rerun completes" 0 $?
check_eq "the branch holds each checkpoint once" 12 "$("$RF" ckpt --repo "$R" log k | wc -l)"
check "the rerun skipped what was done" grep -q "already version" "$tmp/w2.err"
"$RF" ckpt --repo "$R" checkout k -o "$tmp/last.art"
check "the branch head is the last checkpoint" cmp -s "$tmp/last.art" "$tmp/ck/epoch-012.art"
"$RF" ckpt --repo "$R" gc --grace 0 >"$tmp/gc.out"
check_eq "gc exits 0" 0 $?
"$RF" ckpt --repo "$R" verify k >/dev/null
check_eq "gc kept what versions use" 0 $?

# retention: keep the last 3, the best and every 4th epoch; gc; the kept verify
"$RF" ckpt --repo "$R" retain k --keep-every 4 >"$tmp/plan.out"
check_eq "retain without --apply deletes nothing" 12 "$("$RF" ckpt --repo "$R" log k | wc -l)"
check "the plan keeps the head hot" sh -c "tail -n 2 '$tmp/plan.out' | head -1 | grep -q 'epoch 12 .* hot'"
"$RF" ckpt --repo "$R" retain k --keep-every 4 --apply >"$tmp/apply.out"
check_eq "retain --apply exits 0" 0 $?
kept=$(grep -Ec ' (hot|warm|cold)$' "$tmp/apply.out")
check "retain rewrites the kept deltas off the dropped versions" \
  grep -Eq '^[1-9][0-9]* chunks of kept versions rewritten as keyframes' "$tmp/apply.out"
before=$(du -sb "${R#file://}/chunks" | cut -f1)
"$RF" ckpt --repo "$R" gc --grace 0 >"$tmp/gc2.out"
after=$(du -sb "${R#file://}/chunks" | cut -f1)
check "gc after retain deletes the dropped versions' chunks" \
  grep -Eq ' [1-9][0-9]* chunks \([0-9]+ bytes\) deleted' "$tmp/gc2.out"
check "gc after retain frees bytes ($before -> $after)" test "$after" -lt "$before"
bad=0
for v in $(grep -E ' (hot|warm|cold)$' "$tmp/apply.out" | cut -d' ' -f1); do
  "$RF" ckpt --repo "$R" verify "$v" >/dev/null 2>&1 || bad=$((bad + 1))
done
check_eq "the $kept kept versions verify after gc" 0 $bad
finish
