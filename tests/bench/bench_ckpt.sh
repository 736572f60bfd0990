#!/usr/bin/env bash
# bench_ckpt.sh: checkpoint compaction against zstd, same run, same bytes.
# The checkpoints: a training run on the shipped session data (preprocess
# tool-selection, MLP 64-32, Adam), one checkpoint saved every epoch
# (tests/bench/ckpt_gen.c), RF_BENCH_CKPT_EPOCHS of them (default 30).
#  - stored bytes: the repository after `ruvflow ckpt commit` of the whole
#    run (chunks + version JSON), against plain `zstd -3` of each
#    checkpoint's payload (what the artifacts hold), and against the same
#    repository with --keyframe-every 1 (byte-shuffle + zstd, dedup, no
#    deltas);
#  - compaction: payload MB per CPU second (user + system) of the commit,
#    against `zstd -3 -T1` of the same payloads, one process each;
#  - restore: payload MB per CPU second of `ruvflow ckpt verify` of every
#    version in one process (every block decoded, the payload's SHA-256
#    compared with the recorded one, nothing written), against zstd's
#    decompression of the same payloads run its fast way: one process over
#    all the files, nothing written (`zstd -t`: decompress and check the
#    frame checksum). Writing files would cost both sides the same.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
BUILD=${BUILD:-build}
EPOCHS=${RF_BENCH_CKPT_EPOCHS:-30}
RF=$BUILD/bin/ruvflow
tmp=$(mktemp -d /tmp/rf-bench-ckpt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export RUVFLOW_CONFIG=/dev/null TMPDIR="$tmp"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$(( $(nproc) - 1 ))"); fi

"$BUILD/bin/ruvflow-preprocess" run --input sessions=workflows/data/sessions \
  --with task=tool-selection --out "$tmp/prep" >/dev/null 2>&1
mkdir -p "$tmp/ck" "$tmp/raw"
"$BUILD/bench/ckpt_gen" "$tmp/prep/dataset.art" "$tmp/ck" "$EPOCHS" >/dev/null
for f in "$tmp"/ck/*.art; do   # the payload: after the 128-byte header, one zstd frame
  tail -c +129 "$f" | zstd -d -q >"$tmp/raw/$(basename "$f" .art).raw"
done
raw_bytes=$(cat "$tmp"/raw/*.raw | wc -c)

# cpu CMD...: CPU seconds (user + system) of one run
cpu() {
  { TIMEFORMAT='%3U %3S'; time "${pin[@]}" "$@" >/dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}'
}
best_cpu() {   # best of 3, with a fresh output each time
  local b=1e9 c
  for _ in 1 2 3; do
    rm -rf "$tmp/repo" "$tmp"/raw/*.zst "$tmp"/raw/*.out
    c=$(cpu "$@"); b=$(awk -v a="$b" -v c="$c" 'BEGIN {print (c < a ? c : a)}')
  done
  echo "$b"
}
R=file://$tmp/repo
ours_c=$(best_cpu "$RF" ckpt --repo "$R" commit "$tmp"/ck/*.art --branch run)
ours_bytes=$(du -sb "$tmp/repo" | cut -f1)
ids=$("$RF" ckpt --repo "$R" log run | cut -d' ' -f1 | tac)
ours_d=1e9
for _ in 1 2 3; do
  c=$(cpu "$RF" ckpt --repo "$R" verify $ids)
  ours_d=$(awk -v a="$ours_d" -v c="$c" 'BEGIN {print (c < a ? c : a)}')
done
"$RF" ckpt --repo "$R" verify $ids >/dev/null
rm -rf "$tmp/repo"
"$RF" ckpt --repo "$R" commit "$tmp"/ck/*.art --branch run --keyframe-every 1 >/dev/null 2>&1
nodelta_bytes=$(du -sb "$tmp/repo" | cut -f1)

zc=$(best_cpu zstd -3 -T1 -q -k -f "$tmp"/raw/*.raw)
zstd -3 -T1 -q -k -f "$tmp"/raw/*.raw
zstd_bytes=$(cat "$tmp"/raw/*.zst | wc -c)
zd=1e9
for _ in 1 2 3; do
  c=$(cpu zstd -t -q "$tmp"/raw/*.zst)
  zd=$(awk -v a="$zd" -v c="$c" 'BEGIN {print (c < a ? c : a)}')
done

mbs() { awk -v b="$raw_bytes" -v c="$1" 'BEGIN {printf "%.1f", b / c / 1e6}'; }
echo "ckpt: $EPOCHS checkpoints, $raw_bytes payload bytes; stored: ours $ours_bytes," \
  "zstd -3 $zstd_bytes, shuffle+zstd without deltas $nodelta_bytes;" \
  "compaction $(mbs "$ours_c") MB/cpu-s vs zstd -3 $(mbs "$zc");" \
  "restore $(mbs "$ours_d") MB/cpu-s vs zstd -d (-t) $(mbs "$zd")"
# bytes: "ours" and "peer" are compression ratios (payload / stored), higher better
rf_bench_emit ckpt_bytes_vs_zstd3 ratio "$(awk -v r="$raw_bytes" -v b="$ours_bytes" 'BEGIN {print r / b}')" \
  "$(awk -v r="$raw_bytes" -v b="$zstd_bytes" 'BEGIN {print r / b}')" "zstd -3 per checkpoint" 1 1.5
rf_bench_emit ckpt_bytes_vs_nodelta ratio "$(awk -v r="$raw_bytes" -v b="$ours_bytes" 'BEGIN {print r / b}')" \
  "$(awk -v r="$raw_bytes" -v b="$nodelta_bytes" 'BEGIN {print r / b}')" "shuffle+zstd, no deltas" 1 -
rf_bench_emit ckpt_compact_cpu MB/cpu-s "$(mbs "$ours_c")" "$(mbs "$zc")" "zstd -3 -T1" 1 0.8
rf_bench_emit ckpt_restore_cpu MB/cpu-s "$(mbs "$ours_d")" "$(mbs "$zd")" "zstd -d (-t, all files, one process)" 1 0.8
