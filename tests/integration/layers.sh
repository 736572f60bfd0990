#!/usr/bin/env bash
# layers.sh: the layering check passes on the tree and fails, naming the
# file and line, when a module includes a layer above its own.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/assert.sh

out=$(sh infra/build/check_layers.sh 2>&1); rc=$?
check "the tree keeps its layers" test "$rc" -eq 0

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/infra/build" && cp infra/build/check_layers.sh "$tmp/infra/build/"
mkdir -p "$tmp/lib/base" "$tmp/lib/store" "$tmp/lib/engine" "$tmp/lib/ml"
printf '#include "base/rf_err.h"\n' >"$tmp/lib/store/rf_ok.c"
printf '#include "store/rf_ok.h"\n#include "engine/rf_queue.h"\n' >"$tmp/lib/base/rf_up.c"
printf '#include "ml/rf_mlp.h"\n' >"$tmp/lib/engine/rf_side.c"
printf '#include "rf_err.h"\n' >"$tmp/lib/ml/rf_flat.c"
out=$(sh "$tmp/infra/build/check_layers.sh" "$tmp" 2>&1); rc=$?
check "an include up a layer fails the check" test "$rc" -ne 0
check "base including store is named with its line" grep -q 'lib/base/rf_up.c:1:' <<<"$out"
check "base including engine is named" grep -q 'lib/base/rf_up.c:2:' <<<"$out"
check "engine including its sibling ml is refused" grep -q 'lib/engine/rf_side.c:1:' <<<"$out"
check "an include without its layer is refused" grep -q 'rf_flat.c:1: include "rf_err.h" does not name its layer' <<<"$out"
check "a downward include is not reported" bash -c "! grep -q rf_ok.c <<<\"\$1\"" _ "$out"
finish
