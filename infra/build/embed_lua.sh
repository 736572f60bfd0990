#!/bin/sh
# embed_lua.sh IN.lua OUT.c: turn a Lua script into a C string.
#
# The engine's Redis scripts live in lib/<layer>/*.lua so they can be read,
# linted and diffed as Lua; the build embeds each one as
#   const char rf_lua_<name>[];   (NUL-terminated)
# where <name> is the file name without "rf_" and ".lua", e.g.
# lib/engine/rf_queue_take.lua -> rf_lua_queue_take. Comment-only and blank
# lines are kept: a script's line numbers in a Redis error match the file.
set -eu
in=$1 out=$2
name=$(basename "$in" .lua)
name=${name#rf_}
tmp="$out.tmp.$$"
{
  printf '/* Generated from %s by infra/build/embed_lua.sh: do not edit. */\n' "$in"
  printf 'extern const char rf_lua_%s[];\n' "$name"
  printf 'const char rf_lua_%s[] =\n' "$name"
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$in"
  printf '    ;\n'
} >"$tmp"
mv "$tmp" "$out"
