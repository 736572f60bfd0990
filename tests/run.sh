#!/usr/bin/env bash
# run.sh: the whole test suite, as `make test` runs it.
#  1. starts real servers (redis-server; the S3 stack when tests/lib/s3.sh
#     exists) on free loopback ports in a temporary folder, stopped at exit;
#  2. runs every cmocka binary in $BUILD/tests (unit and integration);
#  3. runs every tests/integration/*.sh (TAP-style "ok"/"not ok" lines);
#  4. runs each libFuzzer target briefly (RF_FUZZ_SECONDS, default 20);
#  5. greps everything the suite wrote (each test's TMPDIR, checked also by
#     the test's own `finish` before its cleanup, and $RF_STACK_DIR: logs,
#     server folders) for the test secrets of tests/lib/secrets.sh.
# Ends with one summary line: "total: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
export RF_BIN="$ROOT/$BUILD/bin" RF_ROOT="$ROOT" RF_SHARED="${RF_SHARED:-$ROOT/../shared}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

. tests/lib/servers.sh
rf_stack_init
rf_start_redis || { echo "total: 0 passed, 1 failed"; exit 1; }
if [ -f tests/lib/s3.sh ]; then
  . tests/lib/s3.sh
  rf_start_s3 || { echo "total: 0 passed, 1 failed"; exit 1; }
fi

pass=0 fail=0 failed=()
log="$RF_STACK_DIR/logs"; mkdir -p "$log"
. tests/lib/secrets.sh
# A TMPDIR per test, inside the stack folder, so that the secret scans see
# what each test writes (mktemp -d and rf_stack_init follow TMPDIR).
test_tmp() { export TMPDIR="$RF_STACK_DIR/tmp/$1"; mkdir -p "$TMPDIR"; }
filter=${RF_TEST_FILTER:-}

note() { printf '%-44s %s\n' "$1" "$2"; }

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
  out="$log/$name.log"
  start=$(date +%s)
  test_tmp "$name"
  timeout 900 "$t" >"$out" 2>&1
  rc=$?
  p=$(grep -Eo '\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
  f=$(grep -Eo '\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$(NF-1)} END {print s+0}')
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ $rc -ne 0 ]; then
    failed+=("$name"); note "$name" "FAIL ($p passed, $f failed, rc=$rc)"
    tail -n 40 "$out" | sed 's/^/    /'
  else
    note "$name" "ok ($p tests, $(( $(date +%s) - start ))s)"
  fi
done

for t in tests/integration/*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t" .sh)
  [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
  out="$log/$name.log"
  start=$(date +%s)
  test_tmp "$name"
  RF_SECRET_SCAN_DIR=$TMPDIR timeout 1200 bash "$t" >"$out" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$out")
  f=$(grep -c '^not ok ' "$out")
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ $rc -ne 0 ]; then
    failed+=("$name"); note "$name" "FAIL ($p passed, $f failed, rc=$rc)"
    grep -E '^not ok' "$out" | sed 's/^/    /'
    tail -n 30 "$out" | sed 's/^/    /'
  else
    note "$name" "ok ($p checks, $(( $(date +%s) - start ))s)"
  fi
done

# RF_TEST_FILTER=fuzz (or no filter) runs this step.
if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1 && { [ -z "$filter" ] || [[ fuzz == *$filter* ]]; } &&
   command -v clang >/dev/null; then
  if make --no-print-directory -s -j2 fuzz-build BUILD="$BUILD" >"$log/fuzz-build.log" 2>&1; then
    # A fresh working corpus in the stack folder: make test does not depend
    # on what earlier campaigns found (make fuzz keeps its own).
    RF_FUZZ_CORPUS="$RF_STACK_DIR/fuzz-corpus" RF_FUZZ_LOGS="$log" BUILD="$BUILD" \
      bash tests/fuzz/run.sh >"$log/fuzz.out" 2>&1
    grep -v '^fuzz: ' "$log/fuzz.out"
    p=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log/fuzz.out")
    f=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log/fuzz.out")
    [ -z "$p" ] && { p=0; f=1; }
    pass=$((pass + p)); fail=$((fail + f))
    [ "$f" -gt 0 ] && failed+=(fuzz)
  else
    fail=$((fail + 1)); failed+=(fuzz-build); note "fuzz build" "FAIL"
    tail -n 20 "$log/fuzz-build.log"
  fi
fi

leaked=$(rf_secret_scan "$RF_STACK_DIR")
if [ -z "$leaked" ]; then
  pass=$((pass + 1)); note "secret scan ($(find "$RF_STACK_DIR" -type f | wc -l) files)" "ok"
else
  fail=$((fail + 1)); failed+=(secret-scan); note "secret scan" "FAIL: a test secret in"
  printf '    %s\n' $leaked
fi

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "total: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
