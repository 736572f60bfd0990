#!/bin/sh
# embed_lua.sh IN.lua OUT.c: turn a Lua script into a C string.
#
# The engine's Redis scripts live in lib/<layer>/*.lua so they can be read,
# linted and diffed as Lua; the build embeds each one as
#   const char rf_lua_<name>[];   (NUL-terminated)
# where <name> is the file name without "rf_" and ".lua", e.g.
# lib/engine/rf_queue_take.lua -> rf_lua_queue_take.
#
# A line "-- @include FILE.lua" is replaced by that file (same folder, one
# level deep): shared helpers are written once and prepended where needed,
# as the C string macros did before.
set -eu
in=$1 out=$2
dir=$(dirname "$in")
name=$(basename "$in" .lua)
name=${name#rf_}
tmp="$out.tmp.$$"
flat="$out.lua.$$"
trap 'rm -f "$tmp" "$flat"' EXIT
awk -v dir="$dir" '
  /^-- @include [A-Za-z0-9_.]+\.lua[ \t]*$/ {
    f = dir "/" $3
    if ((getline l < f) <= 0) { print "embed_lua: cannot read " f > "/dev/stderr"; exit 1 }
    do print l; while ((getline l < f) > 0)
    close(f)
    next
  }
  { print }' "$in" >"$flat"
{
  printf '/* Generated from %s by infra/build/embed_lua.sh: do not edit. */\n' "$in"
  printf 'extern const char rf_lua_%s[];\n' "$name"
  printf 'const char rf_lua_%s[] =\n' "$name"
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$flat"
  printf '    ;\n'
} >"$tmp"
mv "$tmp" "$out"
