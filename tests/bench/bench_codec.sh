#!/usr/bin/env bash
# bench_codec.sh: artifact codec throughput vs the zstd CLI, same run, same
# bytes: 256 MiB of f32 weights (Gaussian, std 0.05, seeded), zstd level 3.
#  - ours: rf_artifact_write (msgpack + zstd + SHA-256 + atomic write with
#    fsync) and rf_artifact_read (decompress + parse + SHA-256 check, tensor
#    in memory), best of 3;
#  - peer: `zstd -3 -T1` to a file and `zstd -d` to a file, best of 3. The
#    decoded file lands in the page cache: like our tensor, the bytes end
#    up materialised in memory (decoding to /dev/null would skip that).
# Both are pinned to the same CPU so that "one core" means one core.
# Rows: codec_encode and codec_decode (MB/s, ratio target 0.9 = within 10%
# of raw zstd), and the issue's absolute targets (400 MB/s, 1 GB/s) as rows
# whose "peer" is the target itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
BUILD=${BUILD:-build}
MIB=${RF_BENCH_CODEC_MIB:-256}
tmp=$(mktemp -d /tmp/rf-bench-codec.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$(( $(nproc) - 1 ))"); fi

out=$("${pin[@]}" "$BUILD/bench/bench_codec" "$tmp" "$MIB" 3)
ours_enc=$(awk '$1 == "encode_mbs" {print $2}' <<<"$out")
ours_dec=$(awk '$1 == "decode_mbs" {print $2}' <<<"$out")
raw="$tmp/weights.raw"
bytes=$(stat -c %s "$raw")

# best_mbs CMD...: best throughput over 3 runs, in MB/s of raw bytes.
best_mbs() {
  local best=0 t0 t1 mbs
  for _ in 1 2 3; do
    t0=$(date +%s%N)
    "${pin[@]}" "$@"
    t1=$(date +%s%N)
    mbs=$(( bytes * 1000 / (t1 - t0) ))
    (( mbs > best )) && best=$mbs
  done
  echo "$best"
}
zstd_enc=$(best_mbs zstd -3 -T1 -q -f "$raw" -o "$tmp/weights.zst")
zstd_dec=$(best_mbs zstd -d -q -f "$tmp/weights.zst" -o "$tmp/weights.out")

echo "codec: ours encode $ours_enc MB/s, decode $ours_dec MB/s;" \
     "zstd CLI encode $zstd_enc MB/s, decode $zstd_dec MB/s" >&2
rf_bench_emit codec_encode MB/s "$ours_enc" "$zstd_enc" "zstd -3 -T1 CLI" 1 0.9
rf_bench_emit codec_decode MB/s "$ours_dec" "$zstd_dec" "zstd -d CLI" 1 0.9
rf_bench_emit codec_encode_vs_target MB/s "$ours_enc" 400 "issue target 400 MB/s" 1 1
rf_bench_emit codec_decode_vs_target MB/s "$ours_dec" 1000 "issue target 1 GB/s" 1 1
