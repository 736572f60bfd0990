#!/usr/bin/env bash
# s3_creds: the AWS credential chain against the real S3 stack. The
# SigV4-checking proxy is told to require a session token (POST /__rf_token),
# so a request passes only if it is signed with the token of the temporary
# credentials; the credentials come from a real ~/.aws/credentials profile
# in a temporary HOME, with no AWS_ACCESS_KEY_ID in the environment. Also:
# `ruvflow config show` names the source in effect and prints no secret.
# (IMDSv2 and STS are tested at unit level: tests/unit/store/test_awscreds.c.)
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"

: "${RF_TEST_S3_ENDPOINT:?run through tests/run.sh}" "${RF_TEST_S3_BUCKET:?}"
io="$RF_BIN/../bench/s3io"
[ -x "$io" ] || { not_ok "s3io is built ($io)"; finish; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rf-creds.XXXXXX")
token="session-token-$$-xyz"
require_token() { curl -sf -X POST --data "{\"token\": \"$1\"}" "$RF_TEST_S3_ENDPOINT/__rf_token" >/dev/null; }
trap 'curl -sf -X DELETE "$RF_TEST_S3_ENDPOINT/__rf_token" >/dev/null; rm -rf "$tmp"' EXIT
B="s3://$RF_TEST_S3_BUCKET/creds-$$"
key=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY
head -c 100000 /dev/urandom >"$tmp/obj"
head -c $((11 * 1024 * 1024)) /dev/urandom >"$tmp/big"

mkdir -p "$tmp/home/.aws"
cat >"$tmp/home/.aws/credentials" <<EOT
[default]
aws_access_key_id = $key
aws_secret_access_key = $secret
aws_session_token = $token
EOT
printf '[default]\nregion = %s\n' "$AWS_REGION" >"$tmp/home/.aws/config"
# The chain with nothing in the environment but HOME.
prof() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  -u AWS_PROFILE HOME="$tmp/home" AWS_EC2_METADATA_DISABLED=true "$@"; }

check "the proxy accepts the control request" require_token "$token"
check "put with the profile's temporary credentials" prof "$io" put "$tmp/obj" "$B/a"
prof "$io" get "$B/a" "$tmp/back" 2>"$tmp/err"
check "get with them reads it back byte-identical" cmp -s "$tmp/obj" "$tmp/back"
check "multipart parts (one client per thread) sign with the token too" \
  prof "$io" --threshold 6000000 --part-size 5242880 put "$tmp/big" "$B/big"
prof "$io" get "$B/big" "$tmp/big.back"
check "the multipart object reads back byte-identical" cmp -s "$tmp/big" "$tmp/big.back"

# The requirement can fail: the same keys without the token, or another one.
out=$("$io" ls "$B/" 2>&1); rc=$?
check_eq "static keys without a token: exit 5" 5 "$rc"
check "static keys without a token: 403 InvalidToken" grep -q "403 InvalidToken" <<<"$out"
sed -i "s/^aws_session_token = .*/aws_session_token = wrong-token/" "$tmp/home/.aws/credentials"
out=$(prof "$io" ls "$B/" 2>&1); rc=$?
check_eq "a wrong session token: exit 5" 5 "$rc"
check "a wrong session token: 403 InvalidToken" grep -q "403 InvalidToken" <<<"$out"
check "the error shows no secret" bash -c "! grep -qe '$secret\$' -e wrong-token <<<\"\$1\"" _ "$out"
sed -i "s/^aws_session_token = .*/aws_session_token = $token/" "$tmp/home/.aws/credentials"

# A named profile that does not exist is an error, not a fall-through.
out=$(prof env AWS_PROFILE=nope "$io" ls "$B/" 2>&1); rc=$?
check_eq "AWS_PROFILE=nope: exit 5" 5 "$rc"
check "AWS_PROFILE=nope: says where it looked" grep -q "AWS profile nope (AWS_PROFILE) is in neither $tmp/home/.aws/credentials" <<<"$out"

# config show: the source in effect, never the secret or the token.
cd "$tmp"
show=$(prof env RUVFLOW_STORE="s3://$RF_TEST_S3_BUCKET/x" "$RF_BIN/ruvflow" config show 2>&1)
check "config show names the profile" \
  grep -qF "# s3 credentials: profile default ($tmp/home/.aws/credentials)" <<<"$show"
check "config show prints neither secret nor token" \
  bash -c "! grep -qF -e '$token' <<<\"\$1\" && ! grep -q '= $secret\$' <<<\"\$1\"" _ "$show"
show=$(env RUVFLOW_STORE="s3://$RF_TEST_S3_BUCKET/x" "$RF_BIN/ruvflow" config show 2>&1)
check "config show names static keys from the environment" \
  grep -qF "# s3 credentials: static keys (env AWS_ACCESS_KEY_ID)" <<<"$show"
show=$(env RUVFLOW_STORE="file://$tmp/st" "$RF_BIN/ruvflow" config show 2>&1)
check "config show without S3 says so" grep -qF "# s3 credentials: not used" <<<"$show"
finish
