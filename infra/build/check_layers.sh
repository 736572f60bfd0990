#!/bin/sh
# check_layers.sh: refuse an #include that goes up a layer of lib/.
#
# The layers, from the ground up (lib/<layer>/README.md says what each
# holds). A module may include its own layer and those listed for it here;
# engine and ml are siblings on top of store and may not include each other.
# cmd/, workers/ and tests/ sit above all of lib/ and are not checked.
# Usage: check_layers.sh [ROOT]   (ROOT defaults to this checkout)
set -eu
cd "${1:-$(dirname "$0")/../..}"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
allowed() {
  case $1 in
    base)     echo "base" ;;
    store)    echo "base store" ;;
    engine)   echo "base store engine" ;;
    ml)       echo "base store ml" ;;
    handlers) echo "base store engine ml handlers" ;;
    *)        echo "" ;;
  esac
}
for dir in lib/*/; do
  layer=$(basename "$dir")
  ok=$(allowed "$layer")
  if [ -z "$ok" ]; then
    echo "lib/$layer/ is not a known layer (add it to check_layers.sh)"
    continue
  fi
  for f in "$dir"*.c "$dir"*.h; do
    [ -f "$f" ] || continue
    # Every project include names its layer: "layer/rf_x.h".
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
      inc=$(printf '%s' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
      lno=${line%%:*}
      case $inc in
        */*) to=${inc%%/*} ;;
        *) echo "$f:$lno: include \"$inc\" does not name its layer (write \"<layer>/$inc\")"; continue ;;
      esac
      case " $ok " in
        *" $to "*) ;;
        *) echo "$f:$lno: lib/$layer may not include $inc (layer $to is not below $layer)" ;;
      esac
    done
  done
done >"$report"
if [ -s "$report" ]; then
  cat "$report" >&2
  echo "check_layers: includes go up a layer (see above)" >&2
  exit 1
fi
echo "check_layers: every include in lib/ stays in its layer or below"
