# secrets.sh: the test suite's known secrets, and the scans that prove none
# of them leaks into an output (sourced by assert.sh and tests/run.sh).
#
#   RF_TEST_SECRETS         every password and secret key a test uses
#   rf_secret_scan DIR...   print the files under DIR holding one of them
#                           (except *.acl: the ACL file given to redis-server
#                           is where the test's password must be)
#   rf_secret_procs         print "PID (name)" of each process whose argv holds
#                           one (what ps and /proc/PID/cmdline show); never
#                           the argv itself, which would print the secret

# The S3 one is exported by tests/lib/s3.sh; the ACL ones are redis_acl.sh's;
# the rest are the wrong or fake credentials tests pass to see them refused.
RF_TEST_SECRETS=(rf-test-s3-secret-4c8e1a acl-test-secret-5f1e9c acl-wrong-secret-77aa01
                 admin-pass-0c2d topsecret WRONG-secret-6f1d not-the-secret)
RF_TEST_S3_SECRET=${RF_TEST_SECRETS[0]}

rf_secret_scan() {
  local pats=() s
  for s in "${RF_TEST_SECRETS[@]}"; do pats+=(-e "$s"); done
  grep -rlaF --exclude='*.acl' "${pats[@]}" -- "$@" 2>/dev/null
  return 0
}

rf_secret_procs() {
  local p cmd s
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    for s in "${RF_TEST_SECRETS[@]}"; do
      case $cmd in *"$s"*) echo "${p#/proc/} ($(cat "$p/comm" 2>/dev/null))"; break ;; esac
    done
  done
}
