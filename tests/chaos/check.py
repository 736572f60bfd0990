#!/usr/bin/python3
"""check.py: the chaos harness's checks over one phase's evidence.

  check.py collect REDIS_PORT RUN PREFIX OUT.json
      every task record of RUN (rf:t:RUN/STEP/IDX): state, fencing token,
      attempts, outputs; read from Redis before retention removes them.
  check.py commits TASKS.json COMMITS.log STRICT
      the commit log the workers kept outside Redis (RUVFLOW_TEST_COMMIT_LOG)
      against the records: every task done; its final token logged with the
      same outputs; each task committed once (STRICT=1), or, when Redis lost
      acknowledged writes (appendfsync everysec), re-committed only with the
      same outputs under a later fencing token. Prints one JSON summary.
  check.py compare A.json B.json ROOT [SUFFIX]
      every task's outputs in B equal A's (the same content addresses under
      each phase's store prefix), and every object's bytes have the same
      SHA-256 in both, read from ROOT/PREFIX/KEY+SUFFIX: the s3rver data
      folder (ROOT = DATA/BUCKET, SUFFIX ._S3rver_object) or a file store.
Exit status 0 when the checks hold, 1 otherwise (the reason on stdout).
"""
import hashlib
import json
import os
import subprocess
import sys


def redis(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), "--raw", *args],
                         check=True, capture_output=True, text=True).stdout
    return out


def collect(port, run, prefix, out_path):
    # One Lua call: the plan names every task (steps x ntasks), so nothing
    # is scanned and a task missing from Redis shows as a missing record.
    script = """
local plan = redis.call('GET', 'rf:run:' .. ARGV[1] .. ':plan')
if not plan then return 'no plan' end
plan = cjson.decode(plan)
local out = {}
for _, s in ipairs(plan.steps) do
  for i = 0, s.ntasks - 1 do
    local id = ARGV[1] .. '/' .. s.name .. '/' .. i
    local r = redis.call('HMGET', 'rf:t:' .. id, 'st', 'tok', 'att', 'out')
    out[#out + 1] = {id = id, st = r[1] or '', tok = r[2] or '', att = r[3] or '', out = r[4] or ''}
  end
end
return cjson.encode(out)"""
    raw = redis(port, "EVAL", script, "0", run)
    try:
        rows = json.loads(raw)
    except ValueError:
        print(f"collect: Redis answered {raw[:300]!r}")
        return 1
    tasks = {}
    for t in rows:
        rel = t["id"][len(run) + 1:]
        tasks[rel] = {"st": t.get("st") or None, "tok": t.get("tok"), "att": int(t.get("att") or 0),
                      "out": json.loads(t["out"]) if t.get("out") else None}
    missing = sum(1 for t in tasks.values() if t["st"] is None)
    tasks["__prefix__"] = prefix   # the phase's store prefix, for compare
    with open(out_path, "w") as f:
        json.dump(tasks, f, sort_keys=True)
    print(json.dumps({"tasks": len(tasks) - 1, "missing_records": missing}))
    return 0


def commits(tasks_path, log_path, strict):
    tasks = json.load(open(tasks_path))
    tasks.pop("__prefix__", None)
    run_prefix = None
    logged = {}
    lines = 0
    for line in open(log_path) if os.path.exists(log_path) else []:
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            print(f"commit log: malformed line {line!r}")
            return 1
        lines += 1
        tid, tok, worker, outs = parts
        run, rel = tid.split("/", 1)
        run_prefix = run_prefix or run
        logged.setdefault(rel, []).append((int(tok), worker, json.loads(outs)))
    bad, recommitted, unwitnessed = [], 0, 0
    for rel, t in sorted(tasks.items()):
        if t["st"] != "done":
            bad.append(f"{rel}: state {t['st']}, not done")
            continue
        got = logged.get(rel, [])
        tokens = {tok for tok, _, _ in got}
        final = int(t["tok"])
        if not got:
            # The worker was killed between Redis's reply and its write to
            # the log (a window of microseconds): counted, not a failure.
            unwitnessed += 1
            continue
        if final not in tokens:
            bad.append(f"{rel}: final token {final} was never logged as committed ({sorted(tokens)})")
        outs = {json.dumps(o, sort_keys=True) for _, _, o in got}
        if len(outs) != 1:
            bad.append(f"{rel}: committed with different outputs {sorted(outs)}")
        if len(tokens) > 1:
            recommitted += 1
            if strict:
                bad.append(f"{rel}: committed {len(tokens)} times (tokens {sorted(tokens)})")
    extra = sorted(set(logged) - set(tasks))
    if extra:
        bad.append(f"commits of tasks that are not in the run: {extra[:5]}")
    summary = {"tasks": len(tasks), "log_lines": lines, "recommitted": recommitted,
               "unwitnessed": unwitnessed, "reruns": sum(max(t["att"] - 1, 0) for t in tasks.values()),
               "problems": len(bad)}
    print(json.dumps(summary))
    for b in bad[:20]:
        print("  " + b)
    return 1 if bad else 0


def keys_of(outs, prefix):
    # {"name": "s3://bucket/PHASE/cas/ab/..."} -> {"name": "cas/ab/..."}
    res = {}
    for name, url in sorted((outs or {}).items()):
        urls = url if isinstance(url, list) else [url]
        res[name] = [u.split(prefix, 1)[1] if prefix in u else u for u in urls]
    return res


def object_sha(root, key, suffix):
    # s3rver keeps an object's bytes at DATA/BUCKET/KEY._S3rver_object
    path = os.path.join(root, key + suffix)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def compare(a_path, b_path, root, suffix=""):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    pa, pb = a.pop("__prefix__"), b.pop("__prefix__")
    bad = []
    if sorted(a) != sorted(b):
        bad.append(f"task sets differ: {len(a)} vs {len(b)}")
    objects = 0
    for rel in sorted(set(a) & set(b)):
        ka, kb = keys_of(a[rel]["out"], pa), keys_of(b[rel]["out"], pb)
        if ka != kb:
            bad.append(f"{rel}: outputs differ: {ka} vs {kb}")
            continue
        for name, keys in ka.items():
            for k in keys:
                try:
                    sa = object_sha(root, pa + k, suffix)
                    sb = object_sha(root, pb + k, suffix)
                except OSError as e:
                    bad.append(f"{rel}: {name}: {e}")
                    continue
                objects += 1
                if sa != sb:
                    bad.append(f"{rel}: {name}: SHA-256 {sa} vs {sb}")
    print(json.dumps({"tasks": len(b), "objects_compared": objects, "problems": len(bad)}))
    for x in bad[:20]:
        print("  " + x)
    return 1 if bad else 0


def main():
    cmd = sys.argv[1]
    if cmd == "collect":
        return collect(*sys.argv[2:6])
    if cmd == "commits":
        return commits(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
    if cmd == "compare":
        return compare(*sys.argv[2:6])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
