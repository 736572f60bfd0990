#!/usr/bin/env bash
# exit_codes: one exit-status table (docs/ruvflow.1, EXIT STATUS) holds for
# the CLI and every worker binary: 2 invalid request, 3 not found, 4
# corrupt or malformed data, 7 local I/O (disk full), and a failed task
# leaves no output behind.
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
B=$RF_BIN
F=$RF_SHARED/datasets/fann
T=$(mktemp -d)
cleanup() { umount "$T/full" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

status() { "$@" >/dev/null 2>&1; echo $?; }

# --- 3: no such file, for every binary
check_eq "lint of a missing file: 3" 3 "$(status "$B/ruvflow" lint "$T/nope.yaml")"
check_eq "artifact inspect of a missing file: 3" 3 "$(status "$B/ruvflow" artifact inspect "$T/nope.art")"
for w in preprocess train-stage eval-fold; do
  in=sessions; [ $w = preprocess ] || in=train
  [ $w = eval-fold ] && in=dataset
  check_eq "$w with a missing input: 3" 3 \
    "$(status "$B/ruvflow-$w" run --input $in="$T/nope.jsonl" --out "$T/o-$w")"
done

# --- 2: invalid request
printf 'name: x\nsteps:\n  a: {worker: nope}\n' >"$T/bad.yaml"
check_eq "lint of an invalid workflow: 2" 2 "$(status "$B/ruvflow" lint "$T/bad.yaml")"
check_eq "unknown verb: 2" 2 "$(status "$B/ruvflow" frobnicate)"
check_eq "train-stage with an unknown key: 2" 2 \
  "$(status "$B/ruvflow-train-stage" run --input train="$F/thyroid.train" --with hiden=3 --out "$T/o2")"
check_eq "preprocess with a bad task: 2" 2 \
  "$(status "$B/ruvflow-preprocess" run --input sessions="$F/thyroid.train" --with task=nope --out "$T/o3")"

# --- 4: corrupt or malformed data
printf '2 2 1\n1 nan\n1\n0 1\n0\n' >"$T/nan.train"
check_eq "train-stage on NaN data: 4" 4 \
  "$(status "$B/ruvflow-train-stage" run --input train="$T/nan.train" --out "$T/o4")"
printf 'a,b,y\n1,2,0\n1,x,1\n' >"$T/bad.csv"
check_eq "eval-fold on a malformed CSV: 4" 4 \
  "$(status "$B/ruvflow-eval-fold" run --input dataset="$T/bad.csv" --with folds=2 --with fold=0 --out "$T/o5")"
printf 'RVFL garbage that is no artifact at all, but long enough to have a header...%0128d' 0 >"$T/bad.art"
check_eq "artifact inspect of a corrupt file: 4" 4 "$(status "$B/ruvflow" artifact inspect "$T/bad.art")"

# --- 7: disk full (needs permission to mount a tmpfs; CI runs as root)
mkdir -p "$T/full"
if mount -t tmpfs -o size=64k tmpfs "$T/full" 2>/dev/null; then
  head -c 200000 /dev/urandom >"$T/big.bin"
  check_eq "store put on a full disk: 7" 7 \
    "$(status "$B/ruvflow" store put "$T/big.bin" "file://$T/full/store/obj")"
  check_eq "train-stage --out on a full disk: 7" 7 \
    "$(status "$B/ruvflow-train-stage" run --input train="$F/thyroid.train" --with epochs=2 \
       --with hidden=256,256 --out "$T/full/train")"
  check_eq "the failed task left no output" "" \
    "$(find "$T/full/train" -type f ! -path '*/.state/*' ! -name progress.jsonl 2>/dev/null)"
  umount "$T/full"
else
  ok "disk full: 7 # skip: cannot mount a tmpfs here"
fi
finish
