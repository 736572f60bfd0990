# lib.sh: helpers for bench_*.sh scripts.
# rf_bench_emit NAME UNIT OURS PEER PEER_NAME HIGHER_IS_BETTER TARGET
rf_bench_emit() {
  python3 - "$@" >>"$RF_BENCH_OUT" <<'PY'
import json, sys
name, unit, ours, peer, peer_name, hib, target = sys.argv[1:8]
ours = float(ours); peer = float(peer) if peer not in ("", "-") else None
r = {"name": name, "unit": unit, "ours": ours, "peer": peer, "peer_name": peer_name,
     "ratio": (ours / peer) if peer else None, "higher_is_better": hib == "1",
     "target": float(target) if target not in ("", "-") else None}
print(json.dumps(r))
PY
}
