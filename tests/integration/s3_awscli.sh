#!/usr/bin/env bash
# s3_awscli: cross-check the s3:// backend with a client nobody here wrote.
# What ruvflow writes, `aws s3` reads back byte-identical from the same
# server, and the other way round; both go through the SigV4-checking proxy,
# so both clients' signatures are verified by botocore. Needs the S3 stack
# of tests/run.sh (RF_TEST_S3_ENDPOINT, RF_TEST_S3_BUCKET).
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"

: "${RF_TEST_S3_ENDPOINT:?run through tests/run.sh}" "${RF_TEST_S3_BUCKET:?}"
io="$RF_BIN/../bench/s3io"
[ -x "$io" ] || { not_ok "s3io is built ($io)"; finish; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rf-awscli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
B="s3://$RF_TEST_S3_BUCKET/awscli-$$"
# Debian's awscli (infra/deps.sh); another `aws` on PATH only as a fallback.
aws_bin=$([ -x /usr/bin/aws ] && echo /usr/bin/aws || command -v aws)
aws_s3() { "$aws_bin" --endpoint-url "$RF_TEST_S3_ENDPOINT" s3 "$@"; }
aws_cp() { aws_s3 cp --only-show-errors "$@"; }

mkdir -p "$tmp/up" "$tmp/aws-down" "$tmp/ours-down"
head -c 300000 /dev/urandom >"$tmp/up/small"
# Over awscli's 8 MiB multipart threshold, and over ours as set below.
head -c $((9 * 1024 * 1024 + 777)) /dev/urandom >"$tmp/up/big"

# ruvflow writes, aws reads (one aws process for all: it starts slowly).
check "ruvflow put (single PUT)" "$io" put "$tmp/up/small" "$B/ours/small"
check "ruvflow put (multipart)" "$io" --threshold 6000000 --part-size 5242880 \
  put "$tmp/up/big" "$B/ours/big"
check "ruvflow writer (multipart, stdin)" \
  bash -c "\"$io\" --part-size 5242880 write \"$B/ours/streamed\" <\"$tmp/up/big\""
aws_cp --recursive "$B/ours/" "$tmp/aws-down/" || not_ok "aws cp --recursive down"
check "aws reads ruvflow's small object byte-identical" cmp -s "$tmp/up/small" "$tmp/aws-down/small"
check "aws reads ruvflow's multipart object byte-identical" cmp -s "$tmp/up/big" "$tmp/aws-down/big"
check "aws reads ruvflow's streamed object byte-identical" \
  cmp -s "$tmp/up/big" "$tmp/aws-down/streamed"

# aws writes (its own multipart for the big one), ruvflow reads.
aws_cp --recursive "$tmp/up/" "$B/theirs/" || not_ok "aws cp --recursive up"
for k in small big; do
  "$io" get "$B/theirs/$k" "$tmp/ours-down/$k"
  check "ruvflow reads aws's $k object byte-identical" cmp -s "$tmp/up/$k" "$tmp/ours-down/$k"
done
"$io" get "$B/theirs/big" - 5000000 123456 >"$tmp/range"
check "ruvflow ranged read of aws's object" \
  cmp -s "$tmp/range" <(tail -c +5000001 "$tmp/up/big" | head -c 123456)

# Listings agree; a delete by one is seen by the other.
ours=$("$io" ls "$B/" -r | cut -f3 | sort | tr '\n' ' ')
theirs=$(aws_s3 ls "$B/" --recursive | awk '{print $4}' | sort | tr '\n' ' ')
check_eq "both clients list the same keys" "$theirs" "$ours"
check "ruvflow rm" "$io" rm "$B/theirs/small"
check_eq "aws no longer lists it" "awscli-$$/theirs/big" \
  "$(aws_s3 ls "$B/theirs/" --recursive | awk '{print $4}')"

# Errors as the CLI user sees them.
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret "$io" ls "$B/" 2>&1); rc=$?
check_eq "wrong credentials: exit status 5" 5 "$rc"
check "wrong credentials: 403 SignatureDoesNotMatch in the message" \
  grep -q "403 SignatureDoesNotMatch: The request signature we calculated" <<<"$out"
check "wrong credentials: no secret in the message" bash -c "! grep -q not-the-secret <<<'$out'"
out=$("$io" get "s3://no-such-bucket-rf/x" - 2>&1); rc=$?
check_eq "missing bucket: exit status 3" 3 "$rc"
check "missing bucket: 404 NoSuchBucket in the message" grep -q "404 NoSuchBucket" <<<"$out"
out=$(AWS_ENDPOINT_URL_S3=http://127.0.0.1:9 "$io" --retries 1 head "$B/ours/small" 2>&1); rc=$?
check_eq "unreachable endpoint: exit status 6" 6 "$rc"
check "unreachable endpoint: names the endpoint" grep -q "http://127.0.0.1:9" <<<"$out"
finish
