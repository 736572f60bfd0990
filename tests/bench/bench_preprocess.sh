#!/usr/bin/env bash
# bench_preprocess: parsing + extraction throughput of ruvflow-preprocess on
# the large real session (marot__spotter, 3 MB with big tool results)
# repeated to 1 GiB, each copy under its own session id so the corpus looks
# like many sessions. Peer: `jq -c .` over the same bytes, in the same run.
# MB/s are per core: bytes / (user + sys CPU seconds), which the 2-core
# machine shared by other jobs does not distort the way wall time would.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SRC=$RF_SHARED/testdata/streamjson/marot__spotter/test/fixtures/transcripts/4d5611e5-241a-462a-8d15-5122611a9569.jsonl
SIZE=${RF_BENCH_PREPROCESS_BYTES:-1073741824}
TMP=$(mktemp -d /tmp/rf-bench-preprocess.XXXXXX); trap 'rm -rf "$TMP"' EXIT
BIG=$TMP/big.jsonl

python3 - "$SRC" "$BIG" "$SIZE" <<'PY'
import sys
src, dst, size = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3])
sid = b"4d5611e5-241a-462a-8d15-5122611a9569"
with open(dst, "wb") as out:
    n = i = 0
    while n < size:
        chunk = src.replace(sid, b"%08x-0000-4000-8000-%012x" % (i, i))
        out.write(chunk); n += len(chunk); i += 1
PY
bytes=$(stat -c %s "$BIG")

# cpu_run OUT CMD...: runs CMD, writes "cpu_seconds peak_rss_kb" to OUT
cpu_run() {
  local out=$1; shift
  /usr/bin/time -f "%U %S %M" -o "$TMP/time" "$@"
  awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$TMP/time" > "$out"
}

# ours: the whole task (error-recovery keeps the dense dataset small; both
# datasets' rows and all event tables are extracted either way)
cpu_run "$TMP/ours" "$RF_BIN/ruvflow-preprocess" run --input sessions="$BIG" \
  --with task=error-recovery --out "$TMP/out" >/dev/null
cpu_run "$TMP/jq" sh -c 'jq -c . "$1" >/dev/null' sh "$BIG"
# one copy alone: peak memory must not grow with the number of sessions
# beyond the rows it writes
head -c "$(stat -c %s "$SRC")" "$BIG" > "$TMP/one.jsonl"
cpu_run "$TMP/one" "$RF_BIN/ruvflow-preprocess" run --input sessions="$TMP/one.jsonl" \
  --with task=error-recovery --out "$TMP/out1" >/dev/null

read -r ours_s ours_kb < "$TMP/ours"
read -r jq_s _ < "$TMP/jq"
read -r _ one_kb < "$TMP/one"
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / (s > 0 ? s : 1e-9) }'; }
ours=$(mbps "$ours_s"); peer=$(mbps "$jq_s")
echo "preprocess: $bytes bytes, ours ${ours_s}s cpu (${ours} MB/s, peak ${ours_kb} KB;" \
     "one session alone: ${one_kb} KB), jq ${jq_s}s cpu (${peer} MB/s)" >&2
rf_bench_emit preprocess_streamjson_mb_per_s "MB/s per core" "$ours" "$peer" "jq -c ." 1 1.0
rf_bench_emit preprocess_streamjson_min_150 "MB/s per core" "$ours" 150 "target 150 MB/s" 1 1.0
rf_bench_emit preprocess_peak_rss_1gib_vs_one_session "MB" \
  "$(awk -v k="$ours_kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
  "$(awk -v k="$one_kb" 'BEGIN { printf "%.1f", k / 1024 }')" "one session" 0 -
