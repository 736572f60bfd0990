#!/usr/bin/env bash
# demo.sh: `make demo` end to end (infra/demo.sh, in a folder of its own):
# it succeeds, and its summary says in one line how the model compares
# with the best trivial baseline on the same folds, and whether it beats it.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
RF_BIN=${RF_BIN:-$here/build/bin}
work=$(mktemp -d "${RF_STACK_DIR:-/tmp}/demo-XXXXXX")
build=$(realpath --relative-to="$here" "$RF_BIN/..")

RF_DEMO_DIR=$work BUILD=$build timeout 300 bash "$here/infra/demo.sh" >"$work/out" 2>&1
rc=$?
check_eq "make demo succeeds" 0 $rc
[ $rc -eq 0 ] || tail -n 30 "$work/out" | sed 's/^/    /'
line=$(grep -E '^model [0-9.]+ vs best baseline \((previous tool|bigram on the previous tool|most common tool)\) [0-9.]+: [+-][0-9.]+ \[[+-][0-9.]+, [+-][0-9.]+\]$' "$work/out")
check "the summary compares the model with its best baseline ($line)" test -n "$line"
check "the summary says whether the model beats it" \
  grep -Eq '^  the model (beats|does NOT beat) the best baseline' "$work/out"
# the figures are the aggregate's, not made up: recompute the lift from it
doc="$work/aggregate-doc.json"
want=$(python3 -c '
import json, sys
vs = json.load(open(sys.argv[1]))["vs_baseline"]
rows = json.load(open(sys.argv[1]))["folds"]
k = "baseline_%s_accuracy" % vs["baseline"]
d = [r["accuracy"] - r[k] for r in rows]
print("%+.2f" % (sum(d) / len(d)))' "$doc")
check_eq "the summary's lift is the mean per-fold difference" "$want" \
  "$(echo "$line" | sed -E 's/.*: ([+-][0-9.]+) \[.*/\1/')"
rm -rf "$work"
finish
