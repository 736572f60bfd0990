# assert.sh: tiny TAP-style helpers for shell integration tests.
# Each check prints "ok - NAME" or "not ok - NAME"; tests/run.sh counts them.
RF_FAILS=0
ok()      { echo "ok - $*"; }
not_ok()  { echo "not ok - $*"; RF_FAILS=$((RF_FAILS + 1)); }
check()   { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
check_eq() { # name expected actual
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
check_fails() { # name cmd...: the command must exit non-zero
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then not_ok "$name (succeeded)"; else ok "$name"; fi
}
finish()  { exit $(( RF_FAILS > 0 )); }
