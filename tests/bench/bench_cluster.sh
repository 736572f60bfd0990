#!/usr/bin/env bash
# bench_cluster.sh: rf_redis on one primary and on a 3-primary Redis Cluster
# (tests/lib/cluster.sh), same run, against redis-benchmark (Debian
# redis-tools) run its documented fast way: pipelined (-P 64), `--cluster`
# with a `{tag}` key per node for the cluster. The same one-line Lua INCR
# script by EVALSHA on both sides, over 100,000 keys.
#   1. scripts/s on one primary: our pipelines of 64 vs redis-benchmark -c 1
#   2. scripts/s on the cluster: our one connection (a socket per primary,
#      pipelines split per node) vs redis-benchmark --cluster -c 3
#   3. cluster over one primary, ours vs redis-benchmark's: how flat our
#      routing stays. On this 2-core machine three primaries cannot go
#      faster than one (and its replicas replicate every write on the same
#      cores); the row says what routing costs, not how a cluster of real
#      hosts scales. No target: a client-only step; the engine's
#      flat-throughput figure comes with the key redesign.
# RF_BENCH_MS (default 3000): each of our runs; RF_BENCH_PEER_N (300000):
# each redis-benchmark run.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/servers.sh
. tests/lib/cluster.sh
. tests/bench/lib.sh
BUILD=${BUILD:-build}
C=$PWD/$BUILD/itest/redis_cluster_client
MS=${RF_BENCH_MS:-3000}
: "${RF_BENCH_OUT:=/dev/stdout}"
[ -x "$C" ] || { echo "bench_cluster: build first ($C missing)" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "bench_cluster: no redis-benchmark" >&2; exit 1; }

rf_stack_init
rf_start_redis || exit 1
rf_start_cluster || exit 1
SRC='local v = redis.call('"'"'INCR'"'"', KEYS[1])
if ARGV[1] then redis.call('"'"'HSET'"'"', ARGV[1], '"'"'last'"'"', v) end
return v
'
ours() { # url: scripts/s
  printf 'bench %s 64\n' "$MS" | "$C" "$1" | sed -n 's/^ops_per_s=//p'
}
peer() { # port cluster-flag clients key: scripts/s
  local sha n
  for p in "$1" "${RF_CLUSTER_PORTS[@]:0:3}"; do sha=$(redis-cli -p "$p" script load "$SRC"); done
  n=${RF_BENCH_PEER_N:-300000}   # requests: about 1-3 s here
  redis-benchmark -p "$1" $2 -c "$3" -P 64 -n "$n" -r 100000 -q \
    evalsha "$sha" 1 "$4" 2>/dev/null | tr '\r' '\n' | tail -1 |
    sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p'
}
o1=$(ours "$RF_TEST_REDIS_URL")
p1=$(peer "$RF_REDIS_PORT" "" 1 'b:__rand_int__')
o3=$(ours "$RF_CLUSTER_URL")
p3=$(peer "${RF_CLUSTER_PORTS[0]}" --cluster 3 'b:{tag}:__rand_int__')
echo "bench_cluster: one primary ours $o1 peer $p1; cluster ours $o3 peer $p3 (scripts/s)" >&2
[ -n "$o1" ] && [ -n "$p1" ] && [ -n "$o3" ] && [ -n "$p3" ] || { echo "bench_cluster: a run failed" >&2; exit 1; }
rf_bench_emit "redis scripts/s, one primary" "scripts/s" "$o1" "$p1" \
  "redis-benchmark -P 64 -c 1 EVALSHA" 1 -
rf_bench_emit "redis scripts/s, 3-primary cluster" "scripts/s" "$o3" "$p3" \
  "redis-benchmark --cluster -P 64 -c 3 EVALSHA" 1 -
rf_bench_emit "redis cluster/one primary throughput" "ratio" \
  "$(python3 -c "print($o3/$o1)")" "$(python3 -c "print($p3/$p1)")" \
  "redis-benchmark's cluster/one primary" 1 -
