#!/usr/bin/env bash
# artifact_inspect: `ruvflow artifact inspect` on the fuzz seed artifacts
# (valid and corrupt): output, JSON shape and exit codes.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/assert.sh
RF=${RF_BIN:-build/bin}/ruvflow
seeds=tests/fuzz/corpus/codec
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export TMPDIR="$tmp/tmpdir"   # where inspect puts fetched copies
mkdir -p "$TMPDIR"

out=$("$RF" artifact inspect "$seeds/valid-all.rfa"); rc=$?
check_eq "inspect exits 0" 0 "$rc"
check "header shows content type" grep -q '^content type:  ruvflow/fuzz$' <<<"$out"
check "header shows cas key" grep -Eq '^cas key: +cas/([0-9a-f]{2})/\1[0-9a-f]{62}$' <<<"$out"

"$RF" artifact inspect --json "$seeds/valid-all.rfa" >"$tmp/s.json"
check_eq "--json exits 0" 0 "$?"
summary=$(python3 - "$tmp/s.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h, p = d["header"], d["payload"]
assert h["cas_key"] == "cas/%s/%s" % (h["sha256"][:2], h["sha256"]), h
w = p["w"]
print(h["version"], h["codec"], p["name"], p["epoch"], w["dtype"], w["shape"],
      w["min"], w["max"], w["mean"], "data" in w, p["blob"]["len"])
PY
)
check_eq "--json summarises tensors" "1 zstd mlp -3 f32 [2, 3] 0.0 2.5 1.25 False 2" "$summary"

"$RF" artifact inspect --full --json "$seeds/valid-all.rfa" >"$tmp/f.json"
full=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["payload"]
print(p["w"]["data"], p["blob"]["base64"], p["list"][4]["data"])' "$tmp/f.json")
check_eq "--full prints nested values" "[[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]] AAE= 0" "$full"

# NaN and infinities (not JSON numbers), invalid UTF-8, empty tensors.
odd=$("$RF" artifact inspect --json --full "$seeds/valid-odd.rfa" | python3 -c '
import json, sys
p = json.load(sys.stdin)["payload"]
t, e = p["t"], p["e"]
print(p["nan"], p["inf"], p["bad\ufffd"] == "a\ufffdz", t["nan"], t["mean"], t["data"][1],
      e["min"], e["data"])')
check_eq "odd values stay valid JSON" "NaN -Infinity True 1 2.0 NaN None []" "$odd"

"$RF" artifact inspect "$seeds/corrupt-sha.rfa" 2>"$tmp/err"; rc=$?
check_eq "checksum mismatch exits 4" 4 "$rc"
check "checksum mismatch is explained" grep -q 'checksum mismatch' "$tmp/err"
"$RF" artifact inspect "$seeds/corrupt-truncated.rfa" 2>"$tmp/err"; rc=$?
check_eq "truncated artifact exits 4" 4 "$rc"
"$RF" artifact inspect Makefile 2>"$tmp/err"; rc=$?
check_eq "not an artifact exits 4" 4 "$rc"
check "bad magic is explained" grep -q 'bad magic' "$tmp/err"
"$RF" artifact inspect "$tmp/missing.rfa" 2>/dev/null; rc=$?
check_eq "missing file exits 3" 3 "$rc"
# URLs: fetched through the store first.
url_out=$("$RF" artifact inspect --json "file://$PWD/$seeds/valid-all.rfa" | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["payload"]["name"])')
check_eq "file:// URL is fetched and decoded" mlp "$url_out"
"$RF" artifact inspect "file://$PWD/$seeds/corrupt-sha.rfa" 2>"$tmp/err"; rc=$?
check_eq "corrupt artifact behind a URL exits 4" 4 "$rc"
check "error names the URL, not a temporary file" grep -q "file://$PWD/$seeds/corrupt-sha.rfa: checksum" "$tmp/err"
"$RF" artifact inspect "file://$tmp/missing.rfa" 2>/dev/null; rc=$?
check_eq "missing object exits 3" 3 "$rc"
if [ -n "${RF_TEST_S3_ENDPOINT:-}" ]; then
  s3url="s3://$RF_TEST_S3_BUCKET/artifact-inspect/valid-all.rfa"
  "$RF" store put "$seeds/valid-all.rfa" "$s3url" >/dev/null
  s3_out=$("$RF" artifact inspect --json "$s3url" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["payload"]["epoch"], d["header"]["content_type"])')
  check_eq "s3:// URL is fetched and decoded" "-3 ruvflow/fuzz" "$s3_out"
  "$RF" artifact inspect "s3://$RF_TEST_S3_BUCKET/artifact-inspect/missing.rfa" 2>/dev/null; rc=$?
  check_eq "missing s3 object exits 3" 3 "$rc"
fi
check_eq "no temporary copies left behind" "" "$(ls -A "$TMPDIR")"

"$RF" artifact inspect 2>/dev/null; rc=$?
check_eq "no path is a usage error" 2 "$rc"
"$RF" artifact inspect --bogus "$seeds/valid-map.rfa" 2>/dev/null; rc=$?
check_eq "unknown option is a usage error" 2 "$rc"
"$RF" artifact frobnicate 2>/dev/null; rc=$?
check_eq "unknown subcommand is a usage error" 2 "$rc"
finish
