#!/usr/bin/env bash
# ckpt_tiers: `ruvflow ckpt retain --apply` moving versions between tiers,
# on file:// (tiers are folders) and, when the S3 test stack is up, on real
# s3rver behind the SigV4 proxy (warm = STANDARD_IA; cold = STANDARD there,
# since s3rver cannot archive: the archive classes' restore-then-read is in
# tests/unit/store/test_cktier.c). Checkpoints of a real training run on the
# shipped sessions; every kept version verifies and checks out bit-exact
# after each move and after gc.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/assert.sh
BIN=${RF_BIN:-build/bin}
RF=$BIN/ruvflow
GEN=${RF_BENCH_BIN:-$(dirname "$BIN")/bench}/ckpt_gen
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export RUVFLOW_CONFIG=/dev/null TMPDIR="$tmp"

"$BIN/ruvflow-preprocess" run --input sessions=workflows/data/sessions --with task=tool-selection \
  --out "$tmp/prep" >/dev/null 2>&1
check_eq "preprocess the shipped sessions" 0 $?
mkdir -p "$tmp/ck"
"$GEN" "$tmp/prep/dataset.art" "$tmp/ck" 12 >/dev/null
check_eq "a checkpoint every epoch" 12 "$(ls "$tmp/ck" | wc -l)"

# kept_ok NAME R: every version named in the last retain output verifies,
# and epoch 8's checks out byte for byte
kept_ok() {
  local bad=0 v
  for v in $(grep -E ' (hot|warm|cold)$' "$tmp/apply.out" | cut -d' ' -f1); do
    "$RF" ckpt --repo "$2" verify "$v" >/dev/null 2>&1 || bad=$((bad + 1))
  done
  check_eq "$1: the kept versions verify" 0 $bad
  local e8
  e8=$(grep -E 'epoch 8 ' "$tmp/apply.out" | cut -d' ' -f1)
  rm -f "$tmp/e8.art"
  "$RF" ckpt --repo "$2" checkout "$e8" -o "$tmp/e8.art" >/dev/null 2>&1
  check "$1: epoch 8 checks out bit-exact" cmp -s "$tmp/e8.art" "$tmp/ck/epoch-008.art"
}

commit_run() {
  local i
  for i in $(seq 1 12); do
    "$RF" ckpt --repo "$1" commit "$(printf '%s/ck/epoch-%03d.art' "$tmp" "$i")" --branch k \
      --meta epoch="$i" --meta val_acc="0.$((40 + i))" >/dev/null 2>"$tmp/commit.err" ||
      { echo "# commit of epoch $i failed: $(tail -n 3 "$tmp/commit.err")"; return 1; }
  done
}

# retain_warm NAME R FLAGS...: recent kept versions go warm
retain_warm() {
  local name=$1 R=$2
  shift 2
  "$RF" ckpt --repo "$R" retain k --keep-every 4 --apply "$@" >"$tmp/apply.out" 2>&1
  check_eq "$name: retain --apply exits 0" 0 $?
  check "$name: kept recent versions go warm" grep -Eq 'moved [0-9]+ to hot, [1-9][0-9]* to warm' \
    "$tmp/apply.out"
  kept_ok "$name warm" "$R"
}

# retain_cold NAME R FLAGS...: old kept versions go cold, small chunks packed
retain_cold() {
  local name=$1 R=$2
  shift 2
  "$RF" ckpt --repo "$R" retain k --keep-every 4 --warm-days 0 --apply "$@" >"$tmp/apply.out" 2>&1
  check_eq "$name: retain --warm-days 0 --apply exits 0" 0 $?
  check "$name: older kept versions go cold, small chunks packed" \
    grep -Eq 'to warm, [1-9][0-9]* to cold, [1-9][0-9]* small ones packed into [1-9]' \
    "$tmp/apply.out"
  kept_ok "$name cold" "$R"
}

gc_ok() {
  "$RF" ckpt --repo "$2" gc --grace 0 >"$tmp/gc.out" 2>&1
  check_eq "$1: gc exits 0" 0 $?
  kept_ok "$1 after gc" "$2"
}

R=file://$tmp/repo
commit_run "$R"
retain_warm file "$R"
check "file: warm is a folder" test -n "$(ls "$tmp/repo/warm/chunks" 2>/dev/null)"
retain_cold file "$R"
check "file: cold holds loose chunks" test -n "$(ls "$tmp/repo/cold/chunks" 2>/dev/null)"
check "file: cold holds a pack" test -n "$(ls "$tmp/repo/cold/packs" 2>/dev/null)"
check "file: pack indexes stay hot" test -n "$(ls "$tmp/repo/packs" 2>/dev/null)"
small=$(find "$tmp/repo/cold/chunks" -type f -size -128k | wc -l)
check_eq "file: no loose cold chunk under 128 KiB (they are packed)" 0 "$small"
"$RF" ckpt --repo "$R" retain k --keep-every 4 --warm-days 0 --apply >"$tmp/apply.out" 2>&1
check "file: a second apply moves nothing" \
  grep -q 'moved 0 to hot, 0 to warm, 0 to cold, 0 small ones packed into 0' "$tmp/apply.out"
gc_ok file "$R"

# the checkpoint-compact worker's retain=apply (workflows/curriculum.yaml's step)
W=$BIN/ruvflow-checkpoint-compact
args=()
for f in "$tmp"/ck/*.art; do args+=(--input "checkpoints=$f"); done
"$W" run "${args[@]}" --with branch=w --with repo="file://$tmp/wrepo" --with promote=staging \
  --with retain=apply --with keep_every=4 --out "$tmp/wout" >/dev/null 2>"$tmp/w.err"
check_eq "worker: compact, promote and retain exits 0" 0 $?
check "worker: retention dropped versions" grep -q '"dropped": *[1-9]' "$tmp/wout/metrics.json"
check "worker: and moved chunks to warm" test -n "$(ls "$tmp/wrepo/warm/chunks" 2>/dev/null)"
check_eq "worker: the promoted version verifies" 0 \
  "$("$RF" ckpt --repo "file://$tmp/wrepo" verify channel:staging >/dev/null 2>&1; echo $?)"
check_fails "worker: a bad retain mode fails" "$W" run "${args[@]}" --with branch=w2 \
  --with repo="file://$tmp/wrepo" --with retain=maybe --out "$tmp/wout2"

if [ -n "${RF_TEST_S3_ENDPOINT:-}" ] && [ -n "${RF_TEST_S3_BUCKET:-}" ]; then
  B="s3://$RF_TEST_S3_BUCKET/ckpt-tiers-$$"
  # warm: the default STANDARD_IA; cold: STANDARD (s3rver cannot archive)
  commit_run "$B"
  check_eq "s3: commit the run" 0 $?
  retain_cold s3 "$B" --cold-class STANDARD
  retain_warm s3 "$B" --cold-class STANDARD   # back from cold: the newer ones
  "$RF" store ls "$B/warm/" -r >"$tmp/warm.ls" 2>&1
  first=$(awk '{print $NF; exit}' "$tmp/warm.ls")
  check "s3: warm chunks are STANDARD_IA" \
    sh -c "'$RF' store head '$first' | grep -q 'storage_class: STANDARD_IA'"
  small=$(awk '$3 < 131072' "$tmp/warm.ls" | wc -l)
  check_eq "s3: nothing under 128 KiB in STANDARD_IA" 0 "$small"
  "$RF" ckpt --repo "$B" retain k --keep-every 4 --warm-days 0 --apply --cold-class STANDARD \
    >"$tmp/apply.out" 2>&1
  check "s3: IA's 30-day minimum keeps warm versions warm" \
    grep -q 'moved 0 to hot, 0 to warm, 0 to cold' "$tmp/apply.out"
  gc_ok s3 "$B"
else
  ok "s3 # skip: RF_TEST_S3_ENDPOINT not set (no S3 test stack)"
fi
finish
