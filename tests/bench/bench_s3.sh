#!/usr/bin/env bash
# bench_s3.sh: S3 PUT and GET throughput of 64 MiB objects, ruvflow's s3://
# backend (build/bench/s3io, default settings: a 64 MiB object is a
# multipart upload of four 16 MiB parts) vs `aws s3 cp` (Debian's awscli,
# its default multipart settings), in the same run, against the same s3rver.
#
# Both clients talk to s3rver directly (RF_TEST_S3_DIRECT), not through the
# Python SigV4 proxy, which would be the bottleneck of both; the proxy's
# checks are exercised by the tests, not here. Runs alternate between the
# clients (ours, aws, ours, aws, ...) so that load from other processes on
# a shared machine hits both alike; each figure is the best of
# RF_BENCH_S3_RUNS (default 3). Downloads go to a file on both sides.
#
# Rows:
#   s3_put_64MiB / s3_get_64MiB    one object per process, as a user runs
#                                  it (awscli pays its Python start-up here)
#   s3_put_3x64MiB / s3_get_3x64MiB  three objects: aws in one process
#                                  (cp --recursive, start-up paid once) vs
#                                  three runs of ours
# MB/s = bytes / wall-clock seconds, 1 MB = 10^6 bytes. Target ratio 1.0.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
. tests/lib/servers.sh
. tests/lib/s3.sh
BUILD=${BUILD:-build}
RUNS=${RF_BENCH_S3_RUNS:-3}
io="$PWD/$BUILD/bench/s3io"
aws_bin=$([ -x /usr/bin/aws ] && echo /usr/bin/aws || command -v aws)

rf_stack_init
rf_start_s3
export AWS_ENDPOINT_URL_S3=$RF_TEST_S3_DIRECT
tmp="$RF_STACK_DIR/bench-s3"
mkdir -p "$tmp/up" "$tmp/down-aws" "$tmp/down-ours"
for i in 1 2 3; do head -c $((64 << 20)) /dev/urandom >"$tmp/up/obj$i"; done
B="s3://$RF_TEST_S3_BUCKET/bench"
aws_s3() { "$aws_bin" --endpoint-url "$RF_TEST_S3_DIRECT" s3 "$@" --only-show-errors; }

# secs CMD...: wall-clock seconds of one run.
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN {print (a < b ? a : b)}'; }
mbs() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f\n", n / s / 1e6}'; }

ours_put3() { for i in 1 2 3; do "$io" put "$tmp/up/obj$i" "$B/ours3/obj$i"; done; }
ours_get3() { for i in 1 2 3; do "$io" get "$B/ours3/obj$i" "$tmp/down-ours/obj$i"; done; }

best() { echo 1e9; }
op=$(best) ap=$(best) og=$(best) ag=$(best)
op3=$(best) ap3=$(best) og3=$(best) ag3=$(best)
for _ in $(seq "$RUNS"); do
  op=$(min "$op" "$(secs "$io" put "$tmp/up/obj1" "$B/ours/obj1")")
  ap=$(min "$ap" "$(secs aws_s3 cp "$tmp/up/obj1" "$B/aws/obj1")")
  og=$(min "$og" "$(secs "$io" get "$B/ours/obj1" "$tmp/down-ours/obj1")")
  ag=$(min "$ag" "$(secs aws_s3 cp "$B/aws/obj1" "$tmp/down-aws/obj1")")
  op3=$(min "$op3" "$(secs ours_put3)")
  ap3=$(min "$ap3" "$(secs aws_s3 cp --recursive "$tmp/up/" "$B/aws3/")")
  og3=$(min "$og3" "$(secs ours_get3)")
  ag3=$(min "$ag3" "$(secs aws_s3 cp --recursive "$B/aws3/" "$tmp/down-aws/")")
done
# Both clients must have moved the right bytes, or the figures mean nothing.
cmp -s "$tmp/up/obj1" "$tmp/down-ours/obj1" && cmp -s "$tmp/up/obj1" "$tmp/down-aws/obj1" \
  && cmp -s "$tmp/up/obj3" "$tmp/down-ours/obj3" && cmp -s "$tmp/up/obj3" "$tmp/down-aws/obj3" \
  || { echo "bench_s3: a downloaded object differs from the upload" >&2; exit 1; }

one=$((64 << 20)) three=$((3 * (64 << 20)))
echo "s3 (MB/s, best of $RUNS): put ours $(mbs $one "$op") aws $(mbs $one "$ap");" \
     "get ours $(mbs $one "$og") aws $(mbs $one "$ag"); 3x: put ours $(mbs $three "$op3")" \
     "aws $(mbs $three "$ap3"); get ours $(mbs $three "$og3") aws $(mbs $three "$ag3")" >&2
rf_bench_emit s3_put_64MiB "MB/s" "$(mbs $one "$op")" "$(mbs $one "$ap")" "aws s3 cp" 1 1.0
rf_bench_emit s3_get_64MiB "MB/s" "$(mbs $one "$og")" "$(mbs $one "$ag")" "aws s3 cp" 1 1.0
rf_bench_emit s3_put_3x64MiB "MB/s" "$(mbs $three "$op3")" "$(mbs $three "$ap3")" \
  "aws s3 cp --recursive" 1 1.0
rf_bench_emit s3_get_3x64MiB "MB/s" "$(mbs $three "$og3")" "$(mbs $three "$ag3")" \
  "aws s3 cp --recursive" 1 1.0
