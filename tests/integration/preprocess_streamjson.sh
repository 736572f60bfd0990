#!/usr/bin/env bash
# preprocess_streamjson: every real session log in $RF_SHARED/testdata/streamjson
# parses with no skipped JSON line, and the counts in summary.json match an
# independent count made with jq (per file, and in total for each folder).
set -uo pipefail
. "$(dirname "$0")/../lib/assert.sh"
DATA=$RF_SHARED/testdata/streamjson
BIN=$RF_BIN/ruvflow-preprocess
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

# The counts summary.json promises, computed by jq from the raw lines.
JQ_COUNTS='
  [inputs | try fromjson catch empty] as $v
  | [$v[] | objects] as $o
  | [$o[] | select(.type == "assistant" or .type == "user")
          | .message.content? | arrays | .[]] as $b
  | ["text","thinking","redacted_thinking","tool_use","tool_result","image"] as $known
  | [$o[] | select(.type == "assistant" and (.message.id? | type) == "string")
          | {id: .message.id,
             n: ([.message.content? | arrays | .[] | select(.type? == "tool_use")] | length)}]
    | group_by(.id) | map(map(.n) | add) as $batches
  | { json_lines: ($v | length),
      blocks_by_type: (reduce $b[] as $x ({text:0,thinking:0,redacted_thinking:0,tool_use:0,
                         tool_result:0,image:0,other:0};
                         .[(($x.type? // "") as $t | if ($known | index([$t])) then $t else "other" end)] += 1)),
      tool_calls: ([$b[] | select(.type? == "tool_use")] | length),
      tool_errors: ([$b[] | select(.type? == "tool_result" and .is_error? == true)] | length),
      parallel_batches: ([$batches[] | select(. >= 2)] | length),
      max_batch: ([$batches[]] | max // 0),
      sidechain_lines: ([$o[] | select(.isSidechain == true or (.parent_tool_use_id | type) == "string")] | length),
      results_by_subtype: ([$o[] | select(.type == "result") | .subtype // "(none)"]
                           | group_by(.) | map({key: .[0], value: length}) | from_entries) }'
PICK='{json_lines, blocks_by_type, tool_calls, tool_errors, parallel_batches, max_batch,
       sidechain_lines, results_by_subtype}'

jq_counts() { cat "$@" | jq -nR -S -c "$JQ_COUNTS"; }
line_count() { cat "$@" | awk 'END { print NR }'; }

n=0
while IFS= read -r f; do
  n=$((n + 1))
  name=${f#$DATA/}
  out=$TMP/f$n
  # allow_empty: a file without tool calls still gets its summary counted
  if ! "$BIN" run --input sessions="$f" --with allow_empty=true --out "$out" >"$TMP/log" 2>&1; then
    not_ok "$name: run failed: $(tail -1 "$TMP/log")"; continue
  fi
  s=$out/summary.json
  [ -f "$s" ] || { not_ok "$name: no summary.json"; continue; }
  check_eq "$name: lines" "$(line_count "$f")" "$(jq '.files[0].lines' "$s")"
  check_eq "$name: counts match jq" "$(jq_counts "$f")" "$(jq -S -c ".files[0] | $PICK" "$s")"
  # blank lines are not JSON; every JSON line must have been used
  check_eq "$name: no skipped JSON line" "$(jq '.files[0].skipped_lines' "$s")" \
    "$(( $(line_count "$f") - $(jq '.files[0].json_lines' "$s") ))"
done < <(find "$DATA" -type f \( -name '*.jsonl' -o -name '*.json' -o -name '*.ndjson' \) | sort)

# Folders: files grouped with their subagent files; totals match jq too.
for d in "$DATA"/*/; do
  d=${d%/}; name=$(basename "$d"); n=$((n + 1)); out=$TMP/d$n
  "$BIN" run --input sessions="$d" --with allow_empty=true --out "$out" >"$TMP/log" 2>&1 \
    || { not_ok "$name/: run failed: $(tail -1 "$TMP/log")"; continue; }
  s=$out/summary.json
  mapfile -t files < <(jq -r '.files[].path' "$s")
  check_eq "$name/: total counts match jq" "$(jq_counts "${files[@]}")" "$(jq -S -c ".total | $PICK" "$s")"
  check_eq "$name/: total lines" "$(line_count "${files[@]}")" "$(jq '.total.lines' "$s")"
done

# Formats detected per file.
"$BIN" run --input sessions="$DATA" --out "$TMP/all" >/dev/null 2>&1
fmt() { jq -r --arg p "$1" '.files[] | select(.path | contains($p)) | .format' "$TMP/all/summary.json" | sort -u; }
check_eq "format stream-json" stream-json "$(fmt claude-stream-json-simple)"
check_eq "format projects" projects "$(fmt 4d5611e5-241a-462a-8d15-5122611a9569.jsonl)"
check_eq "format json" json "$(fmt alpha_output)"
# sessions: distinct session ids over all files (a subagent file shares its parent's)
nsess=$(find "$DATA" -type f \( -name '*.jsonl' -o -name '*.json' -o -name '*.ndjson' \) -print0 \
  | xargs -0 cat | jq -nR '[inputs | try fromjson catch empty | objects | .session_id // .sessionId
                           | strings] | unique | length')
check_eq "all sessions" "$nsess" "$(jq '.total.sessions' "$TMP/all/summary.json")"
if jq -e '.total.sessions < (.files | length)' "$TMP/all/summary.json" >/dev/null; then
  ok "subagent files joined their sessions"; else not_ok "subagent files joined their sessions"; fi
finish
