#!/usr/bin/env bash
# redis_acl: the engine runs as a Redis ACL user that may touch only the
# rf: keys and the commands the engine needs (the line docs/redis-schema.md
# shows), and its password appears in no output: logs, `config show`, the
# process list, error messages.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/lib/assert.sh"
. "$here/tests/lib/servers.sh"
R="${RF_BIN:-$here/build/bin}/ruvflow"

rf_stack_init
work="$RF_STACK_DIR/acl"
mkdir -p "$work/redis" "$work/store"
port=$(rf_free_port)
. "$here/tests/lib/secrets.sh"
SECRET=${RF_TEST_SECRETS[1]}   # acl-test-secret-..., grepped for by the whole suite
WRONG=${RF_TEST_SECRETS[2]}
ADMIN=${RF_TEST_SECRETS[3]}
# The ACL line of docs/redis-schema.md, with the test's password.
cat >"$work/users.acl" <<ACL
user default off
user admin on >$ADMIN ~* &* +@all
user ruvflow on >$SECRET ~rf:* &rf:* -@all +@read +@write +@scripting +@stream +@list +@hash +@sortedset +@set +@string +@keyspace +@connection +@blocking +@transaction -@dangerous +info +time
ACL
redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --appendonly no --aclfile "$work/users.acl" --logfile "$work/redis.log" &
RF_STACK_PIDS+=($!)
rf_wait_port "$port"

export RUVFLOW_REDIS_URL="redis://ruvflow:$SECRET@127.0.0.1:$port/0"
export RUVFLOW_STORE="file://$work/store"
export RUVFLOW_LOG=info
"$R" scheduler >"$work/scheduler.log" 2>&1 &
RF_STACK_PIDS+=($!)
"$R" worker --types noop,sleep --concurrency 4 >"$work/worker.log" 2>&1 &
WPID=$!
RF_STACK_PIDS+=($WPID)

"$R" submit "$here/workflows/noop-dag.yaml" --wait >"$work/submit.log" 2>&1
check_eq "a run as the ACL user succeeds" 0 $?
"$R" status "$(awk '/^run /{print $2; exit}' "$work/submit.log" 2>/dev/null || true)" >"$work/status.log" 2>&1 || true
"$R" list >"$work/list.log" 2>&1
check_eq "list as the ACL user" 0 $?
"$R" queues >"$work/queues.log" 2>&1
check_eq "queues as the ACL user" 0 $?
"$R" config show >"$work/config.log" 2>&1
check "config show masks the password" grep -q 'ruvflow:\*\*\*@' "$work/config.log"

# The ACL really limits the user: a key outside rf: is refused to it.
out=$(redis-cli -p "$port" --user ruvflow --pass "$SECRET" --no-auth-warning SET other:x 1 2>&1)
check "the ACL refuses keys outside rf:" grep -q NOPERM <<<"$out"

# A wrong password: a clear error, exit 5, and neither password printed.
RUVFLOW_REDIS_URL="redis://ruvflow:$WRONG@127.0.0.1:$port/0" "$R" list >"$work/wrong.log" 2>&1
check_eq "a wrong password: exit 5 (credentials refused)" 5 $?
check "a wrong password: the error says so" grep -qi "auth\|password" "$work/wrong.log"

# The process list shows no password (argv and environment are separate).
check "no password in the process list" bash -c "! ps -eo args | grep -v grep | grep -qF -- '$SECRET'"

# `ruvflow up` against this Redis: the URL with the password reaches the
# scheduler and the workers it starts through the environment, so no
# /proc/PID/cmdline (what ps shows) carries it.
mkdir -p "$work/up"
(cd "$work/up" && unset RUVFLOW_REDIS_URL RUVFLOW_STORE &&
  "$R" up --workers 1 --redis "redis://ruvflow:$SECRET@127.0.0.1:$port/0" >"$work/up.log" 2>&1)
check_eq "ruvflow up with a password in the Redis URL" 0 $?
check "up's message masks the password" grep -q 'ruvflow:\*\*\*@' "$work/up.log"
(cd "$work/up" && unset RUVFLOW_REDIS_URL && "$R" submit "$here/workflows/noop-dag.yaml" --wait \
  >"$work/up-submit.log" 2>&1)
check_eq "a run on that stack succeeds" 0 $?
nstack=$(cat "$work"/up/.ruvflow/pids/*.pid 2>/dev/null | grep -c '^[0-9]')
check "the stack's processes are running ($nstack)" test "$nstack" -ge 6
procs=$(rf_secret_procs)
check_eq "no process's cmdline holds a test secret" "" "$procs"
(cd "$work/up" && "$R" down --grace 5 >"$work/down.log" 2>&1)

kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null
found=$(grep -rl -e "$SECRET" -e "$WRONG" "$work"/*.log 2>/dev/null)
check_eq "no password in any output" "" "$found"
finish
