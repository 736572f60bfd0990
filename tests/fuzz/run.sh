#!/usr/bin/env bash
# tests/fuzz/run.sh: run every libFuzzer target (built by `make fuzz-build`)
# for RF_FUZZ_SECONDS each (default 20), one after the other, with ASan and
# UBSan. Used by tests/run.sh (the short form) and `make fuzz
# FUZZ_SECONDS=N` (the long one).
#
# Each target starts from its seed corpus (tests/fuzz/corpus/NAME) and a
# working corpus that persists across runs in RF_FUZZ_CORPUS/NAME (default
# $BUILD/fuzz-corpus), so long campaigns add up; a crash is saved there as
# crash-* (add it to the seed corpus as its regression test). Prints one
# line per target: executions, coverage (cov = edges, ft = features) and
# the corpus size, then "fuzz: N passed, N failed". RF_FUZZ_FILTER=SUB runs
# only the targets whose name holds SUB. Logs go to RF_FUZZ_LOGS.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
secs=${RF_FUZZ_SECONDS:-20}
work=${RF_FUZZ_CORPUS:-$BUILD/fuzz-corpus}
logs=${RF_FUZZ_LOGS:-$work/logs}
filter=${RF_FUZZ_FILTER:-}
mkdir -p "$work" "$logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 n=0
for fz in "$BUILD"/fuzz/fuzz_*; do
  [ -x "$fz" ] || continue
  name=$(basename "$fz")
  [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
  n=$((n + 1))
  corpus="$work/${name#fuzz_}"; mkdir -p "$corpus"
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  dirs=("$corpus"); [ -d "$seeds" ] && dirs+=("$seeds")   # new units go to the first
  log="$logs/$name.log"
  # The outer timeout only catches a hung target: libFuzzer stops itself.
  timeout $((secs + 120)) "$fz" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$corpus/" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  size=$(find "$corpus" -maxdepth 1 -type f ! -name 'crash-*' | wc -l)
  stats="${secs}s, ${execs:-?} execs, ${cov:-cov: ?}, corpus $size"
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); printf '%-44s ok (%s)\n' "$name" "$stats"
  else
    fail=$((fail + 1)); printf '%-44s FAIL (rc=%s; %s)\n' "$name" "$rc" "$stats"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
  fi
done
echo "fuzz: $pass passed, $fail failed ($n targets)"
[ "$fail" -eq 0 ]
