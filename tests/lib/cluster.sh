# cluster.sh: a real Redis Cluster on loopback for the tests: 3 primaries
# and 3 replicas on free ports, in the stack folder of tests/lib/servers.sh
# (source that first and call rf_stack_init), stopped at exit with the rest.
#
#   rf_start_cluster        start, join (redis-cli --cluster create), wait
#                           for cluster_state:ok on every node and every
#                           replica's first sync (master_link_status:up);
#                           exports
#                           RF_CLUSTER_URL (redis+cluster://seeds),
#                           RF_CLUSTER_PORTS (6 ports, the primaries first
#                           as created) and RF_CLUSTER_PIDS (same order)
#   rf_cluster_wait_ok [s]  wait until every live node says cluster_state:ok
#   rf_cluster_primary_of_slot SLOT   the port of the primary serving SLOT
#
# RF_CLUSTER_SERVER / RF_CLUSTER_CLI choose the binaries (default
# redis-server / redis-cli; valkey-server / valkey-cli take the same
# options). RF_CLUSTER_NODE_TIMEOUT (ms, default 1000) bounds how soon a
# killed primary's replica is promoted.

RF_CLUSTER_SERVER=${RF_CLUSTER_SERVER:-redis-server}
RF_CLUSTER_CLI=${RF_CLUSTER_CLI:-redis-cli}
RF_CLUSTER_NODE_TIMEOUT=${RF_CLUSTER_NODE_TIMEOUT:-1000}

rf_cluster_cli() { # port args...
  local p=$1; shift
  "$RF_CLUSTER_CLI" -h 127.0.0.1 -p "$p" "$@"
}

rf_cluster_wait_ok() { # [seconds]
  local end=$((SECONDS + ${1:-30})) p ok
  while [ $SECONDS -lt $end ]; do
    ok=1
    for p in "${RF_CLUSTER_PORTS[@]}"; do
      rf_cluster_cli "$p" ping >/dev/null 2>&1 || continue   # a killed node
      rf_cluster_cli "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.2
  done
  echo "redis cluster not ok after ${1:-30} s" >&2
  return 1
}

rf_cluster_primary_of_slot() { # slot
  local p
  for p in "${RF_CLUSTER_PORTS[@]}"; do
    rf_cluster_cli "$p" ping >/dev/null 2>&1 || continue
    rf_cluster_cli "$p" cluster slots 2>/dev/null | python3 -c '
import sys
# redis-cli prints the nested reply one value a line: start, end, host,
# port, id per node; the first node after a range is its primary.
v=[l.strip() for l in sys.stdin if l.strip()]
s=int(sys.argv[1]); i=0
while i+4 < len(v):
    if v[i].isdigit() and v[i+1].isdigit() and not v[i+2].isdigit():
        a,b=int(v[i]),int(v[i+1])
        if a<=s<=b: print(v[i+3]); sys.exit(0)
        i+=2
    else: i+=1
sys.exit(1)' "$1" && return 0
  done
  return 1
}

rf_start_cluster() {
  local i p dir args=()
  RF_CLUSTER_PORTS=() RF_CLUSTER_PIDS=()
  for i in 1 2 3 4 5 6; do
    p=$(rf_free_port)
    # The cluster bus listens on port + 10000: it must be free too.
    while [ $((p + 10000)) -gt 65535 ] ||
          (exec 3<>/dev/tcp/127.0.0.1/$((p + 10000))) 2>/dev/null; do p=$(rf_free_port); done
    dir="$RF_STACK_DIR/cluster-$p"
    mkdir -p "$dir"
    "$RF_CLUSTER_SERVER" --port "$p" --bind 127.0.0.1 --dir "$dir" --save '' \
      --appendonly yes --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
      --cluster-node-timeout "$RF_CLUSTER_NODE_TIMEOUT" --repl-diskless-sync-delay 0 \
      --logfile "$dir/redis.log" &
    RF_STACK_PIDS+=($!)
    RF_CLUSTER_PIDS+=($!)
    RF_CLUSTER_PORTS+=("$p")
    args+=("127.0.0.1:$p")
  done
  for p in "${RF_CLUSTER_PORTS[@]}"; do rf_wait_port "$p" || return 1; done
  "$RF_CLUSTER_CLI" --cluster create "${args[@]}" --cluster-replicas 1 --cluster-yes \
    >"$RF_STACK_DIR/cluster-create.log" 2>&1 || {
    cat "$RF_STACK_DIR/cluster-create.log" >&2; return 1; }
  rf_cluster_wait_ok 60 || return 1
  # A replica that has not finished its first sync cannot be promoted
  # ("disconnected from master for longer than allowed"): wait for it.
  local end=$((SECONDS + 60))
  for p in "${RF_CLUSTER_PORTS[@]:3:3}"; do
    until rf_cluster_cli "$p" info replication | grep -q '^master_link_status:up'; do
      [ $SECONDS -lt $end ] || { echo "cluster: replica $p never synced" >&2; return 1; }
      sleep 0.2
    done
  done
  # --cluster create makes the first three primaries; check, since the
  # tests kill "a primary" by pid.
  for i in 0 1 2; do
    rf_cluster_cli "${RF_CLUSTER_PORTS[$i]}" role | head -1 | grep -q master || {
      echo "cluster: node ${RF_CLUSTER_PORTS[$i]} is not a primary" >&2; return 1; }
  done
  RF_CLUSTER_URL="redis+cluster://127.0.0.1:${RF_CLUSTER_PORTS[0]},127.0.0.1:${RF_CLUSTER_PORTS[1]},127.0.0.1:${RF_CLUSTER_PORTS[2]}"
  export RF_CLUSTER_URL
}
