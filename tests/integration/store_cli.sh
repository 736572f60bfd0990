#!/usr/bin/env bash
# store_cli: `ruvflow store ...` and `ruvflow config show` end to end, on
# file:// always and on s3:// when the S3 test stack is up
# (RF_TEST_S3_ENDPOINT, from tests/lib/s3.sh).
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
R="${RF_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}/ruvflow"
T=$(mktemp -d "${TMPDIR:-/tmp}/rf-store-cli.XXXXXX")
cleanup() { mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"; rm -rf "$T"; }
trap cleanup EXIT
cd "$T" || exit 1
# Only this test's settings: no stray config file or RUVFLOW_* variable.
for v in $(env | grep -o '^RUVFLOW_[A-Z0-9_]*'); do unset "$v"; done
export HOME=$T RUVFLOW_CONFIG=/dev/null

# rc CMD...: run, print the exit status (output to $T/out, $T/err).
rc() { "$@" >"$T/out" 2>"$T/err"; echo $?; }

S="file://$T/store"
head -c 3000000 /dev/urandom >big.bin
printf 'small\n' >small.txt

# ---- round trips ----
check_eq "put" 0 "$(rc "$R" store put big.bin "$S/runs/r1/big.bin")"
check_eq "get to file" 0 "$(rc "$R" store get "$S/runs/r1/big.bin" back.bin)"
check "get is byte-identical" cmp -s big.bin back.bin
"$R" store get "$S/runs/r1/big.bin" - >stdout.bin
check "get - streams to stdout" cmp -s big.bin stdout.bin
printf 'from stdin' | "$R" store put - "$S/runs/r1/stdin.txt"
check_eq "put - reads stdin" "from stdin" "$("$R" store get "$S/runs/r1/stdin.txt" -)"
"$R" store put small.txt "$S/named/"
check_eq "put URL/ keeps the file name" "small" "$("$R" store get "$S/named/small.txt" -)"
"$R" store rm "$S/named/small.txt"
mkdir into
"$R" store get "$S/runs/r1/stdin.txt" into >/dev/null
check "get into a directory keeps the name" test -f into/stdin.txt
"$R" store put small.txt "$S/runs/r1/small.txt"
"$R" store put small.txt "$S/runs/r2/deep/x.txt"
"$R" store put small.txt "$S/top.txt"

# ---- ls, head ----
"$R" store ls "$S/" >ls.txt
check "ls shows prefixes" grep -q "PRE  $S/runs/$" ls.txt
check "ls shows objects" grep -q " 6  $S/top.txt$" ls.txt
check_eq "ls without -r stays at one level" 2 "$(wc -l <ls.txt)"
check_eq "ls -r lists every object" 5 "$("$R" store ls "$S/" -r | wc -l)"
check_eq "ls prefix filter" 3 "$("$R" store ls "$S/runs/r1" -r | wc -l)"
check_eq "ls of nothing is empty" "" "$("$R" store ls "$S/nothing/" -r)"
"$R" store head "$S/runs/r1/big.bin" >head.txt
check "head shows the size" grep -qx "size: 3000000" head.txt
check "head shows the state" grep -qx "state: readable" head.txt

# ---- cp, rm ----
check_eq "cp within a store" 0 "$(rc "$R" store cp "$S/top.txt" "$S/copies/top.txt")"
check_eq "cp across stores" 0 "$(rc "$R" store cp "$S/runs/r1/big.bin" "file://$T/other/")"
check "cp DIR/ keeps the name and bytes" cmp -s big.bin "$T/other/big.bin"
check_eq "rm" 0 "$(rc "$R" store rm "$S/copies/top.txt")"
check_eq "get after rm: not found (3)" 3 "$(rc "$R" store get "$S/copies/top.txt" -)"
check "not found says so" grep -q "no such key" "$T/err"
check_eq "rm of a missing key succeeds, as on S3" 0 "$(rc "$R" store rm "$S/copies/top.txt")"

# ---- bad input ----
check_eq "'..' in a key is refused (2)" 2 "$(rc "$R" store put small.txt "$S/a/../../escape")"
check "nothing escaped the store" test ! -e "$T/escape"
check_eq "reserved temp name refused" 2 "$(rc "$R" store put small.txt "$S/.rftmp-x")"
check_eq "empty key segment refused" 2 "$(rc "$R" store put small.txt "$S/a//b")"
check_eq "unsupported scheme (2)" 2 "$(rc "$R" store get "http://example.com/x" -)"
check_eq "relative file URL (2)" 2 "$(rc "$R" store get "file://rel/x" -)"
check_eq "missing local file" 3 "$(rc "$R" store put nope.bin "$S/x")"
check_eq "get into a missing directory fails" 3 "$(rc "$R" store get "$S/top.txt" /no/such/dir/f)"
check_eq "wrong argument count (2)" 2 "$(rc "$R" store put only-one)"
check_eq "unknown verb (2)" 2 "$(rc "$R" store frobnicate)"
check_eq "store --help (0)" 0 "$(rc "$R" store --help)"
check_eq "store get --help (0)" 0 "$(rc "$R" store get --help)"
check "get --help shows usage" grep -q "usage: ruvflow store get URL" "$T/out"
check_eq "restore on file:// says not archived (1)" 1 "$(rc "$R" store restore "$S/top.txt")"
check "restore message" grep -q "not archived" "$T/err"
check_eq "restore of a missing key (3)" 3 "$(rc "$R" store restore "$S/none")"

# ---- tiers (defaults: <store>/hot|warm|cold) ----
export RUVFLOW_STORE="$T/tiered"
H="file://$T/tiered"
"$R" store put big.bin "$H/hot/ckpt/model.rfa"
check_eq "tier hot -> cold" 0 "$(rc "$R" store tier "$H/hot/ckpt/model.rfa" cold)"
check_eq "tier prints the new URL" "$H/cold/ckpt/model.rfa" "$(cat "$T/out")"
check "moved out of hot" test ! -e "$T/tiered/hot/ckpt/model.rfa"
"$R" store get "$H/cold/ckpt/model.rfa" moved.bin
check "moved intact" cmp -s big.bin moved.bin
check_eq "explicit move back to hot" 0 "$(rc "$R" store tier "$H/cold/ckpt/model.rfa" hot)"
check "back in hot" test -f "$T/tiered/hot/ckpt/model.rfa"
check_eq "URL in no tier (2)" 2 "$(rc "$R" store tier "$S/top.txt" cold)"
check_eq "unknown tier name (2)" 2 "$(rc "$R" store tier "$H/hot/ckpt/model.rfa" tepid)"
RUVFLOW_TIER_COLD_CLASS=GLACIER "$R" store tier "$H/hot/ckpt/model.rfa" cold >/dev/null 2>"$T/err"
check "a storage class on a file:// tier is refused" grep -q "no storage classes" "$T/err"
check "... and the object stayed in hot" test -f "$T/tiered/hot/ckpt/model.rfa"
unset RUVFLOW_STORE

# ---- disk full (needs permission to mount a tmpfs) ----
mkdir full
if mount -t tmpfs -o size=256k tmpfs full 2>/dev/null; then
  "$R" store put small.txt "file://$T/full/obj"
  check_fails "put on a full disk fails" "$R" store put big.bin "file://$T/full/obj"
  "$R" store put big.bin "file://$T/full/obj" 2>"$T/err"
  check "disk full error is clear" grep -q "No space left on device" "$T/err"
  check "old object intact after disk full" cmp -s small.txt "$T/full/obj"
  check_eq "no temp file left" "" "$(ls -A "$T/full" | grep rftmp)"
  umount full
else
  ok "disk full # skip: cannot mount a tmpfs here (unit test_store covers it)"
fi

# ---- config show ----
out=$(AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=topsecretvalue \
      RUVFLOW_REDIS_URL='redis://u:pw123@127.0.0.1:6379/0' "$R" config show)
check "config show hides the secret key" bash -c '! grep -q topsecretvalue <<<"$1"' _ "$out"
check "config show masks the access key" grep -q "access_key_id = AKIA\*\*\*MPLE" <<<"$out"
check "config show masks redis passwords" grep -q "redis://u:\*\*\*@127.0.0.1" <<<"$out"
check_eq "bad env value (2)" 2 "$(RUVFLOW_S3_PART_SIZE=tiny rc "$R" config show)"
check "bad env value names the variable" grep -q "RUVFLOW_S3_PART_SIZE" "$T/err"
printf '[s3]\nregion = x\nbogus = 1\n' >bad.conf
check_eq "bad config file (2)" 2 "$(RUVFLOW_CONFIG=$T/bad.conf rc "$R" config show)"
check "bad config file gives file:line" grep -q "bad.conf:3: unknown key" "$T/err"
check_eq "config show --help (0)" 0 "$(rc "$R" config --help)"

# ---- s3:// (with the S3 test stack) ----
if [ -n "${RF_TEST_S3_ENDPOINT:-}" ] && [ -n "${RF_TEST_S3_BUCKET:-}" ]; then
  B="s3://$RF_TEST_S3_BUCKET/store-cli-$$"
  check_eq "s3 put" 0 "$(rc "$R" store put big.bin "$B/runs/big.bin")"
  "$R" store get "$B/runs/big.bin" s3back.bin
  check "s3 round trip byte-identical" cmp -s big.bin s3back.bin
  "$R" store put small.txt "$B/runs/sub/small.txt"
  check_eq "s3 ls -r" 2 "$("$R" store ls "$B/runs/" -r | wc -l)"
  check "s3 ls shows a prefix" bash -c '"$1" store ls "$2/runs/" | grep -q "PRE  .*runs/sub/$"' _ "$R" "$B"
  check "s3 head size" bash -c '"$1" store head "$2/runs/big.bin" | grep -qx "size: 3000000"' _ "$R" "$B"
  check_eq "s3 cp server-side" 0 "$(rc "$R" store cp "$B/runs/big.bin" "$B/copy/big.bin")"
  check_eq "cp s3 -> file" 0 "$(rc "$R" store cp "$B/copy/big.bin" "file://$T/froms3/big.bin")"
  check "cp s3 -> file bytes" cmp -s big.bin "$T/froms3/big.bin"
  check_eq "cp file -> s3" 0 "$(rc "$R" store cp "$S/top.txt" "$B/fromfile/top.txt")"
  check_eq "s3 get missing (3)" 3 "$(rc "$R" store get "$B/none" -)"
  check_eq "s3 bad key (2)" 2 "$(rc "$R" store get "$B/a/../b" -)"
  export RUVFLOW_STORE="$B/tiered"
  "$R" store put small.txt "$B/tiered/hot/t.txt"
  check_eq "s3 tier hot -> warm" 0 "$(rc "$R" store tier "$B/tiered/hot/t.txt" warm)"
  check_eq "s3 tier: gone from hot" 3 "$(rc "$R" store head "$B/tiered/hot/t.txt")"
  check_eq "s3 tier: in warm" "small" "$("$R" store get "$B/tiered/warm/t.txt" -)"
  unset RUVFLOW_STORE
  check_eq "s3 rm" 0 "$(rc "$R" store rm "$B/runs/big.bin" "$B/runs/sub/small.txt")"
  check_eq "s3 rm: gone" 3 "$(rc "$R" store head "$B/runs/big.bin")"
else
  ok "s3 # skip: RF_TEST_S3_ENDPOINT not set (no S3 test stack)"
fi

finish
