#!/usr/bin/env bash
# log_json.sh: RUVFLOW_LOG_FORMAT=json on a real scheduler and worker: every
# line either writes is one JSON object with ts, level, msg; each line about
# a task (debug start/success, a dead-lettered failure, a lease found lost
# by the heartbeat after a SIGSTOP) carries that task's run, step, task and
# attempt ids, matching the run's own records.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
. "$RF_ROOT/tests/lib/servers.sh"
rf_stack_init
t=$RF_STACK_DIR/logjson; mkdir -p "$t"
R=$RF_BIN/ruvflow
rf_start_redis
export RUVFLOW_REDIS_URL=$RF_TEST_REDIS_URL RUVFLOW_REDIS_PREFIX=lj$$: RUVFLOW_STORE=file://$t/store
export RUVFLOW_LOG_FORMAT=json RUVFLOW_LOG=debug
"$R" scheduler 2>"$t/scheduler.log" &
RF_STACK_PIDS+=($!)
"$R" worker --types noop,sleep --lease 300 2>"$t/worker.log" &
W=$!; RF_STACK_PIDS+=($W)
cat >"$t/wf.yaml" <<'YAML'
name: logjson
steps:
  ok: {worker: noop, foreach: {range: 3}, with: {i: "${{ item }}"}}
  slow: {worker: sleep, needs: ok, with: {ms: 5000}, retries: {count: 3, backoff: 50ms}}
YAML
cat >"$t/bad.yaml" <<'YAML'
name: logjson-bad
steps:
  bad: {worker: sleep, with: {ms: "-1"}, retries: {count: 2, backoff: 50ms}}
YAML
wait_run() {
  for _ in $(seq 200); do
    st=$(RUVFLOW_LOG_FORMAT= "$R" status "$1" --json 2>/dev/null | jq -r .state)
    [ "$st" = running ] || break; sleep 0.1
  done
  echo "$st"
}
badrun=$(RUVFLOW_LOG_FORMAT= "$R" submit "$t/bad.yaml" 2>>"$t/submit.log" | head -1)
check_eq "a run whose task is dead-lettered fails" failed "$(wait_run "$badrun")"
run=$(RUVFLOW_LOG_FORMAT= "$R" submit "$t/wf.yaml" 2>>"$t/submit.log" | head -1)
check "submitted" [ -n "$run" ]
for _ in $(seq 100); do
  grep -q '/slow/0 attempt 1: sleep started' "$t/worker.log" && break; sleep 0.05
done
kill -STOP $W; sleep 3.5; kill -CONT $W
check_eq "the run with a frozen worker succeeds (the task re-ran)" succeeded "$(wait_run "$run")"
sleep 0.5
kill -TERM $W; wait $W

/usr/bin/python3 - "$run" "$badrun" "$t/worker.log" "$t/scheduler.log" >"$t/check.out" 2>&1 <<'PY'
import json, re, sys
runs, files = sys.argv[1:3], sys.argv[3:]
bad = 0
seen = {"started": 0, "succeeded": 0, "dead": 0, "lost": 0}
for path in files:
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            print(f"{path}:{n}: not JSON: {e}: {line!r}"); bad += 1; continue
        if not (isinstance(o, dict) and all(isinstance(o.get(k), str) for k in ("ts", "level", "msg"))
                and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["ts"])):
            print(f"{path}:{n}: missing ts/level/msg: {line!r}"); bad += 1; continue
        m = re.match(r"task (\S+?):? ", o["msg"])
        if not m or "worker" not in path:
            continue
        task = m.group(1)
        ok = (o.get("task") == task and o.get("run") in runs and task.startswith(o["run"] + "/")
              and o.get("step") == task.split("/")[1] and isinstance(o.get("attempt"), int)
              and o["attempt"] >= 1)
        if not ok:
            print(f"{path}:{n}: task line without its ids: {line!r}"); bad += 1
        for k, pat in (("started", "started"), ("succeeded", "succeeded in"),
                       ("dead", "dead-lettered"), ("lost", "lease lost")):
            if pat in o["msg"]:
                seen[k] += 1
print("seen", json.dumps(seen, sort_keys=True))
sys.exit(1 if bad else 0)
PY
check_eq "every line of both logs is a JSON object with ts, level, msg; task lines carry their ids" \
  0 $?
cat "$t/check.out"
seen=$(sed -n 's/^seen //p' "$t/check.out")
seen_has() { jq -e "$1" >/dev/null <<<"$seen"; }
check "task start and success lines seen" seen_has '.started >= 4 and .succeeded >= 3'
check "the dead-lettered failure is logged with its ids" seen_has '.dead >= 1'
check "the heartbeat's lease-lost line is logged with its ids" seen_has '.lost >= 1'
check "the scheduler wrote JSON lines too" bash -c "[ \$(wc -l <'$t/scheduler.log') -ge 1 ]"
printf 'RUVFLOW_LOG=info\nRUVFLOW_LOG_FORMAT=xml\n' >"$t/bad.env"
out=$("$R" config check-env "$t/bad.env" 2>&1)
check_eq "check-env refuses an unknown log format (exit 2)" 2 $?
check "and names the file, line and key" grep -q 'bad.env:2:1: RUVFLOW_LOG_FORMAT="xml": want text or json' <<<"$out"
finish
