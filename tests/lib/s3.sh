# s3.sh: the S3 test stack, sourced by tests/run.sh after servers.sh.
#
#   rf_start_s3   s3rver (npm, pinned in tests/tools) on a free loopback port,
#                 with tests/tools/sigv4_proxy.py in front of it: the proxy
#                 checks every SigV4 signature with botocore (403
#                 SignatureDoesNotMatch as AWS would) and can inject faults.
#
# Exports for the tests:
#   RF_TEST_S3_ENDPOINT   http://127.0.0.1:PORT of the proxy (what tests use)
#   RF_TEST_S3_DIRECT     http://127.0.0.1:PORT of s3rver itself (benchmarks)
#   RF_TEST_S3_BUCKET     a bucket created at startup
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (S3RVER and tests/lib/secrets.sh's
#   RF_TEST_S3_SECRET: the proxy checks signatures with it, s3rver does not),
#   AWS_REGION, AWS_ENDPOINT_URL_S3 (the proxy)

rf_s3_tools="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)"

rf_start_s3() {
  local s3port pxport dir s3rver
  # s3rver's CLI with atomic, read-after-write consistent PUTs (see the file)
  s3rver="$rf_s3_tools/s3rver_run.js"
  if [ ! -f "$rf_s3_tools/node_modules/s3rver/bin/s3rver.js" ]; then
    echo "s3rver is not installed: run infra/deps.sh (npm ci in tests/tools)" >&2
    return 1
  fi
  s3port=$(rf_free_port)
  pxport=$(rf_free_port)
  dir="$RF_STACK_DIR/s3-$s3port"
  mkdir -p "$dir/data"
  . "$rf_s3_tools/../lib/secrets.sh"
  # A secret of its own (not s3rver's S3RVER, which is also the key id and
  # so shows in every Authorization header): the suite greps for it.
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$RF_TEST_S3_SECRET
  export AWS_REGION=${AWS_REGION:-us-east-1} AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
  unset AWS_SESSION_TOKEN AWS_PROFILE
  export RF_TEST_S3_BUCKET=ruvflow-test
  # The proxy is the signature judge; s3rver's own (partial) check is off so
  # that a request the proxy accepts is never refused for another reason.
  # s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  # OpenSSL 3 only offers in its legacy provider: without it every listing
  # over 1000 keys answers 500.
  node --openssl-legacy-provider "$s3rver" -d "$dir/data" -a 127.0.0.1 -p "$s3port" --silent \
    --allow-mismatched-signatures --no-vhost-buckets \
    --configure-bucket "$RF_TEST_S3_BUCKET" >"$dir/s3rver.log" 2>&1 &
  RF_STACK_PIDS+=($!)
  /usr/bin/python3 "$rf_s3_tools/sigv4_proxy.py" --listen "$pxport" \
    --upstream "$s3port" --region "$AWS_REGION" >"$dir/proxy.log" 2>&1 &
  RF_STACK_PIDS+=($!)
  rf_wait_port "$s3port" 20 || { cat "$dir/s3rver.log" >&2; return 1; }
  rf_wait_port "$pxport" 20 || { cat "$dir/proxy.log" >&2; return 1; }
  export RF_TEST_S3_ENDPOINT="http://127.0.0.1:$pxport"
  export RF_TEST_S3_DIRECT="http://127.0.0.1:$s3port"
  export AWS_ENDPOINT_URL_S3=$RF_TEST_S3_ENDPOINT
  export RF_S3_DIR=$dir
}

# rf_s3_fault JSON: queue a proxy fault (see sigv4_proxy.py); rf_s3_fault_clear.
rf_s3_fault() {
  curl -sf -X POST --data "$1" "$RF_TEST_S3_ENDPOINT/__rf_fault" >/dev/null
}
rf_s3_fault_clear() {
  curl -sf -X DELETE "$RF_TEST_S3_ENDPOINT/__rf_fault" >/dev/null
}
