#!/usr/bin/env bash
# preprocess_badinput: messy and hostile inputs give clear file:line
# messages, are counted in summary.json, never crash; compressed inputs
# count the same as plain ones; nothing usable fails with a reason; the
# tabular path reads FANN and CSV and rejects ragged rows.
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
BIN=$RF_BIN/ruvflow-preprocess
DATA=$RF_SHARED/testdata/streamjson
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
run() { "$BIN" run "$@" >"$TMP/out.log" 2>"$TMP/err.log"; }

# A real stream-json log with damage appended: a blank line, noise, invalid
# UTF-8, a result without its call, a line over the cap, a truncated last line.
SRC=$DATA/presmihaylov__ccagent/services/fixtures/claude_response1.jsonl
BAD=$TMP/bad.jsonl
cp "$SRC" "$BAD"
src_lines=$(awk 'END { print NR }' "$SRC")
cap=$(( $(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$SRC") + 1024 ))
{
  echo
  echo "npm WARN deprecated something"
  printf '{"type":"assistant","message":{"id":"u","content":[{"type":"text","text":"caf\xc3"}]}}\n'
  echo '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"toolu_missing","content":"x"}]},"session_id":"13fd3e32-9028-43ba-9306-4e08bca82525","parent_tool_use_id":null}'
  printf '{"type":"user","message":{"content":"%s"}}\n' "$(head -c $((cap + 10)) /dev/zero | tr '\0' a)"
  printf '{"type":"assistant","message":{"id":"z","content":[{"type":"tool_use","id":"t'
} >> "$BAD"

check "damaged log still runs" run --input sessions="$BAD" --with max_line=$cap --out "$TMP/bad"
S=$TMP/bad/summary.json
check_eq "lines counted" $((src_lines + 6)) "$(jq '.files[0].lines' "$S")"
check_eq "skipped counted" 6 "$(jq '.files[0].skipped_lines' "$S")"   # 1 blank in SRC + 5
check_eq "unpaired result counted" 1 "$(jq '.files[0].unpaired_results' "$S")"
reasons=$(jq -r '.files[0].skipped[] | "\(.line): \(.reason)"' "$S")
for want in "not JSON" "invalid UTF-8" "size cap" "truncated last line" "blank line"; do
  if grep -q "$want" <<<"$reasons"; then ok "reason: $want"; else not_ok "reason: $want (got: $reasons)"; fi
done
check_eq "first reason has its line" "$((src_lines))" "$(jq '.files[0].skipped[0].line' "$S")"
if grep -q "bad.jsonl:$((src_lines + 6)): skipped: truncated last line" "$TMP/err.log"; then
  ok "file:line in the log"; else not_ok "file:line in the log: $(cat "$TMP/err.log")"; fi
if grep -q "without a matching tool call" "$TMP/err.log"; then ok "unpaired result logged"
else not_ok "unpaired result logged"; fi

# Compressed copies (any name) count exactly the same.
gzip -c "$SRC" > "$TMP/a.jsonl.gz"
zstd -q -c "$SRC" > "$TMP/b.jsonl.zst"
cp "$TMP/b.jsonl.zst" "$TMP/c.jsonl"
run --input sessions="$SRC" --out "$TMP/plain"
PICK='.files[0] | {lines, json_lines, blocks_by_type, tool_calls, tool_errors, parallel_batches}'
want=$(jq -c "$PICK" "$TMP/plain/summary.json")
for f in a.jsonl.gz b.jsonl.zst c.jsonl; do
  run --input sessions="$TMP/$f" --out "$TMP/o-$f"
  check_eq "$f counts like the plain file" "$want" "$(jq -c "$PICK" "$TMP/o-$f/summary.json")"
done
check_eq "gzip detected" gzip "$(jq -r '.files[0].compression' "$TMP/o-a.jsonl.gz/summary.json")"
check_eq "zstd detected by content" zstd "$(jq -r '.files[0].compression' "$TMP/o-c.jsonl/summary.json")"

# Same seed, same splits; the dataset and tables are artifacts.
run --input sessions="$DATA/d-kimuson__claude-code-viewer" --out "$TMP/s1"
run --input sessions="$DATA/d-kimuson__claude-code-viewer" --out "$TMP/s2"
check_eq "deterministic dataset" "$(sha256sum < "$TMP/s1/dataset.art")" "$(sha256sum < "$TMP/s2/dataset.art")"
check_eq "dataset is an artifact" RVFLART "$(head -c 7 "$TMP/s1/dataset.art")"
check_eq "tables are an artifact" RVFLART "$(head -c 7 "$TMP/s1/tables.art")"
check "error-recovery task" run --input sessions="$DATA/marot__spotter" --with task=error-recovery --out "$TMP/er"
check_eq "error-recovery rows = failed results" \
  "$(jq '.total.tool_errors' "$TMP/er/summary.json")" "$(jq '.total.rows["error-recovery"].total' "$TMP/er/summary.json")"

# A subagent file given as its own input, right after its session's file,
# still joins that session and links to its Task call.
T=$DATA/marot__spotter/test/fixtures/transcripts
run --input sessions="$T/4d5611e5-241a-462a-8d15-5122611a9569.jsonl" \
    --input sessions="$T/4d5611e5-241a-462a-8d15-5122611a9569/subagents/agent-a2898e3.jsonl" --out "$TMP/sep"
check_eq "separate subagent input: one session, linked" '{"sessions":1,"subagents_linked":1}' \
  "$(jq -c '.total | {sessions, subagents_linked}' "$TMP/sep/summary.json")"

# Nothing usable: clear reason with the counts, exit status 2, and no
# output at all (a failed task leaves nothing half-written); allow_empty
# keeps the summary of logs without rows.
printf 'hello\nworld\n' > "$TMP/noise.jsonl"
run --input sessions="$TMP/noise.jsonl" --out "$TMP/n1"
check_eq "noise only: exit 2" 2 "$?"
if grep -q "nothing usable: no JSON lines in 1 input file(s) (2 lines, 2 skipped)" "$TMP/err.log"; then ok "noise only: reason with counts"; else not_ok "noise only: reason: $(cat "$TMP/err.log")"; fi
check_eq "noise only: no output left" "" "$(ls -A "$TMP/n1" 2>/dev/null)"
run --input sessions="$TMP/noise.jsonl" --with allow_empty=true --out "$TMP/n1e"
check_eq "noise only, allow_empty: exit 0" 0 "$?"
check_eq "noise only, allow_empty: summary counts" 2 "$(jq '.total.skipped_lines' "$TMP/n1e/summary.json")"
check "noise only, allow_empty: no dataset" test ! -e "$TMP/n1e/dataset.art"
echo '{"type":"file-history-snapshot","snapshot":{}}' > "$TMP/nosession.jsonl"
run --input sessions="$TMP/nosession.jsonl" --out "$TMP/n2"
check_eq "no sessions: exit 2" 2 "$?"
check "no sessions: no summary.json left" test ! -e "$TMP/n2/summary.json"
run --input sessions="$TMP/nosession.jsonl" --with allow_empty=true --out "$TMP/n2e"
check_eq "no sessions, allow_empty: counted" 0 "$(jq '.total.sessions' "$TMP/n2e/summary.json")"

# An earlier run's outputs survive a later failed run in the same folder.
run --input sessions="$SRC" --out "$TMP/keep"
before=$(sha256sum "$TMP/keep/summary.json")
run --input sessions="$TMP/noise.jsonl" --out "$TMP/keep"
check_eq "failed rerun: exit 2" 2 "$?"
check_eq "failed rerun: earlier summary untouched" "$before" "$(sha256sum "$TMP/keep/summary.json")"
check "failed rerun: no .partial left" test ! -e "$TMP/keep/.partial"

# Damaged compressed logs (cut at 60%) are errors naming the file, not a
# short read: zstd -t and gzip -t say "premature end" / "unexpected end".
for z in zst gz; do
  case $z in zst) zstd -q -c "$SRC" >"$TMP/whole.jsonl.$z" ;; gz) gzip -c "$SRC" >"$TMP/whole.jsonl.$z" ;; esac
  sz=$(stat -c %s "$TMP/whole.jsonl.$z")
  head -c $((sz * 6 / 10)) "$TMP/whole.jsonl.$z" >"$TMP/cut.jsonl.$z"
  run --input sessions="$TMP/cut.jsonl.$z" --out "$TMP/cut$z"
  rc=$?
  check_eq "truncated .$z: exit 4 (corrupt)" 4 "$rc"
  if grep -q "cut.jsonl.$z:[0-9]*: .*truncated" "$TMP/err.log"; then ok "truncated .$z: the file is named"; else not_ok "truncated .$z: message: $(cat "$TMP/err.log")"; fi
  check_eq "truncated .$z: no output left" "" "$(ls -A "$TMP/cut$z" 2>/dev/null)"
  run --input sessions="$TMP/whole.jsonl.$z" --out "$TMP/whole$z"
  check_eq "whole .$z: still reads" 0 "$?"
done
mkdir -p "$TMP/empty"
check_fails "folder without logs fails" run --input sessions="$TMP/empty" --out "$TMP/n3"
check_fails "missing input fails" run --input sessions="$TMP/does-not-exist" --out "$TMP/n4"
check_fails "bad task name" run --input sessions="$SRC" --with task=nope --out "$TMP/n5"
check_fails "bad split" run --input sessions="$SRC" --with split=50/50 --out "$TMP/n6"

# Tabular: FANN and CSV in, splits added; ragged and non-numeric CSV out.
FANN=$(ls "$RF_SHARED"/datasets/fann/*.train 2>/dev/null | head -1)
if [ -n "$FANN" ]; then
  check "tabular FANN" run --with task=tabular --input data="$FANN" --out "$TMP/t1"
  check_eq "tabular rows = FANN pairs" "$(head -1 "$FANN" | awk '{ print $1 }')" \
    "$(jq '.total.rows.tabular.total' "$TMP/t1/summary.json")"
fi
printf 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n13,14,x\n' > "$TMP/ok.csv"
check "tabular CSV" run --with task=tabular --with target=label --input data="$TMP/ok.csv" --out "$TMP/t2"
check_eq "tabular CSV rows" 7 "$(jq '.total.rows.tabular.total' "$TMP/t2/summary.json")"
printf 'a,b,label\n1,2,x\n3,y\n' > "$TMP/ragged.csv"
run --with task=tabular --with target=label --input data="$TMP/ragged.csv" --out "$TMP/t3"
check_eq "ragged CSV: exit 4" 4 "$?"
if grep -q "ragged.csv:3" "$TMP/err.log"; then ok "ragged CSV: file:line"; else not_ok "ragged CSV: file:line: $(cat "$TMP/err.log")"; fi
printf 'a,b,label\n1,2,x\n3,zz,y\n' > "$TMP/nonnum.csv"
run --with task=tabular --with target=label --input data="$TMP/nonnum.csv" --out "$TMP/t4"
check_eq "non-numeric CSV: exit 4" 4 "$?"
if grep -q "nonnum.csv:3" "$TMP/err.log"; then ok "non-numeric CSV: file:line"; else not_ok "non-numeric CSV: file:line: $(cat "$TMP/err.log")"; fi
printf 'a,b,a,y\n1,2,3,0\n4,5,6,1\n' >"$TMP/dup.csv"
run --input data="$TMP/dup.csv" --with task=tabular --out "$TMP/dup"
check_eq "duplicate CSV column names: exit 4" 4 "$?"
if grep -q 'dup.csv:1: column 3 repeats the name "a" of column 1' "$TMP/err.log"; then ok "duplicate CSV column: both named"; else not_ok "duplicate CSV column: $(cat "$TMP/err.log")"; fi
finish
