#!/usr/bin/env bash
# run.sh: `make bench`. Runs every tests/bench/bench_*.sh; each measures
# ruvflow and its peer in the same run and appends JSON lines
#   {"name":..., "unit":..., "ours":X, "peer":Y, "peer_name":..., "ratio":X/Y,
#    "higher_is_better":true, "target":T}
# to $RF_BENCH_OUT. Prints them as a table at the end. Ratios, not absolute
# times, are what to read: the machines are shared and noisy.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
export RF_BIN="$ROOT/$BUILD/bin" RF_ROOT="$ROOT" RF_SHARED="${RF_SHARED:-$ROOT/../shared}"
mkdir -p "$BUILD/bench"
export RF_BENCH_OUT="$ROOT/$BUILD/bench/results.jsonl"
: > "$RF_BENCH_OUT"
filter=${RF_BENCH_FILTER:-}
rc=0
for b in tests/bench/bench_*.sh; do
  [ -f "$b" ] || continue
  [ -n "$filter" ] && [[ $b != *$filter* ]] && continue
  echo "== $(basename "$b" .sh)" >&2
  bash "$b" || { echo "bench $(basename "$b") failed" >&2; rc=1; }
done
python3 - "$RF_BENCH_OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'benchmark':38} {'ours':>12} {'peer':>12} {'ratio':>7} {'target':>7}  unit / peer")
for r in rows:
    t = r.get("target")
    ok = ""
    ratio = r.get("ratio")
    if ratio is None and r.get("peer") == 0 and r.get("ours") == 0:
        ratio = 1.0   # both perfect (e.g. zero test error): as good as the peer
    if t is not None and ratio is not None:
        eps = 1e-9 * t  # an exact tie must not fail on float rounding
        good = ratio >= t - eps if r.get("higher_is_better", True) else ratio <= t + eps
        ok = " ok" if good else " MISS"
    fmt = lambda v: f"{'-':>12}" if v is None else f"{v:12.4g}"
    print(f"{r['name']:38} {fmt(r.get('ours'))} {fmt(r.get('peer'))} "
          f"{(ratio if ratio is not None else 0):7.2f} {('' if t is None else t):>7}{ok}  "
          f"{r.get('unit','')} / {r.get('peer_name','')}")
PY
exit $rc
