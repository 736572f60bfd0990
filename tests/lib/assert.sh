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
# finish: the last line of every test. Under tests/run.sh, which gives each
# test a TMPDIR of its own (RF_SECRET_SCAN_DIR), it first greps all the test
# wrote there for the suite's secrets, before the test's EXIT trap removes it.
finish()  {
  if [ -n "${RF_SECRET_SCAN_DIR:-}" ]; then
    . "$(dirname "${BASH_SOURCE[0]}")/secrets.sh"
    local leaked
    leaked=$(rf_secret_scan "$RF_SECRET_SCAN_DIR")
    if [ -z "$leaked" ]; then ok "no test secret in the files this test wrote"
    else not_ok "a test secret in: $(echo $leaked)"; fi
  fi
  exit $(( RF_FAILS > 0 ))
}
