#!/usr/bin/env bash
# cloud_compose.sh: the deployment files that cannot run here, validated by
# what is packaged in Debian, plus checks of our own that they fit ruvflow:
#   infra/cloud/worker.cloud-init.yaml: `cloud-init schema --config-file`
#     (and a broken copy fails it); it installs infra/deps.sh's build
#     packages, writes env files that `ruvflow config check-env` accepts (the
#     shared one mode 0600), runs the same `make install` that works here
#     into a DESTDIR, and enables units of worker types that exist;
#   infra/compose.yaml: `docker-compose config` (Compose 1.29, no daemon
#     needed; a broken copy fails it); services for Redis, MinIO, the
#     scheduler and every worker type, RUVFLOW_WORKERS replicas each, an
#     environment check-env accepts;
#   infra/Dockerfile: its build stage installs deps.sh's build packages; its
#     runtime packages ship every shared library the built binaries need.
set -uo pipefail
. "$RF_ROOT/tests/lib/assert.sh"
. "$RF_ROOT/tests/lib/servers.sh"
rf_stack_init
t=$RF_STACK_DIR/cloud; mkdir -p "$t"
R=$RF_BIN/ruvflow
CI=$RF_ROOT/infra/cloud/worker.cloud-init.yaml
build_pkgs=$(sed -n '/^pkgs_build="/,/"$/p' "$RF_ROOT/infra/deps.sh" | tr -d '"' | sed 's/pkgs_build=//' | tr -s ' \n' '\n' | grep . | sort)

# --- cloud-init -------------------------------------------------------------
if ! command -v cloud-init >/dev/null; then
  echo "skip - cloud-init is not installed: no schema check of $CI"
else
  check "cloud-init schema accepts the user-data" cloud-init schema --config-file "$CI"
  sed 's/^package_update: true/package_update: sometimes/' "$CI" >"$t/bad.yaml"
  check_fails "cloud-init schema refuses a broken copy" cloud-init schema --config-file "$t/bad.yaml"
fi
/usr/bin/python3 - "$CI" "$t" <<'PY' >"$t/ci.out" 2>&1
import os, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
out = sys.argv[2]
assert open(sys.argv[1]).readline().strip() == "#cloud-config"
for k in ("packages", "write_files", "runcmd"):
    assert k in doc, k
with open(os.path.join(out, "packages"), "w") as f:
    f.write("\n".join(sorted(doc["packages"])) + "\n")
for w in doc["write_files"]:
    name = os.path.basename(w["path"])
    with open(os.path.join(out, name), "w") as f:
        f.write(w["content"])
    print("file", w["path"], w.get("permissions", ""))
for c in doc["runcmd"]:
    print("cmd", " ".join(c) if isinstance(c, list) else c)
PY
check_eq "the user-data parses as YAML with packages, write_files, runcmd" 0 $?
check_eq "it installs every build package of infra/deps.sh" "" \
  "$(comm -23 <(echo "$build_pkgs") "$t/packages")"
check "the shared env file is written mode 0600" grep -qx 'file /etc/ruvflow/ruvflow.env 0600' "$t/ci.out"
for f in "$t"/ruvflow.env "$t"/worker-*.env; do
  check "ruvflow config check-env accepts $(basename "$f")" "$R" config check-env "$f"
done
check "it checks the env file before enabling units" grep -q \
  '^cmd /usr/local/bin/ruvflow config check-env /etc/ruvflow/ruvflow.env' "$t/ci.out"
types=$(grep '^cmd systemctl enable' "$t/ci.out" | grep -o 'ruvflow-worker@[a-z-]*' | sed 's/.*@//')
check "it enables worker units" [ -n "$types" ]
for ty in $types; do
  check "ruvflow-worker@$ty names a real worker binary" [ -x "$RF_BIN/ruvflow-$ty" ]
  check "ruvflow-worker@$ty has its metrics env file" [ -f "$t/worker-$ty.env" ]
done
# The arguments of its make, minus the source folder and -j: install ...
inst=$(grep -o 'make -C /opt/ruvflow .*install.*' "$t/ci.out" | sed 's|^make -C /opt/ruvflow ||; s|-j"$(nproc)" ||')
check "it runs make install" [ -n "$inst" ]
make -s -C "$RF_ROOT" $inst DESTDIR="$t/root" BUILD="${BUILD:-build}" >"$t/install.log" 2>&1
check_eq "the same make install works (into a DESTDIR)" 0 $?
check "units land where systemd looks, naming /usr/local/bin and /etc/ruvflow" grep -q \
  '^EnvironmentFile=/etc/ruvflow/ruvflow.env' "$t/root/usr/local/lib/systemd/system/ruvflow-worker@.service"

# --- compose ----------------------------------------------------------------
C=$RF_ROOT/infra/compose.yaml
if ! command -v docker-compose >/dev/null; then
  echo "skip - docker-compose is not installed: no compose config check of $C"
else
  check "docker-compose config accepts infra/compose.yaml" docker-compose -f "$C" config -q
  sed 's/^    restart: on-failure$/    restrat: on-failure/' "$C" >"$t/bad-compose.yaml"
  check_fails "docker-compose config refuses a misspelt key" docker-compose -f "$t/bad-compose.yaml" config -q
  RUVFLOW_WORKERS=3 docker-compose -f "$C" config >"$t/compose.resolved" 2>"$t/compose.err"
  check_eq "RUVFLOW_WORKERS=3: three replicas of each of the 5 worker types" 5 \
    "$(grep -c 'replicas: 3' "$t/compose.resolved")"
fi
/usr/bin/python3 - "$C" "$t" "$RF_BIN" <<'PY' >"$t/compose.out" 2>&1
import os, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
out, bindir = sys.argv[2], sys.argv[3]
svc = doc["services"]
for need in ("redis", "minio", "minio-bucket", "scheduler"):
    assert need in svc, need
workers = sorted(b[len("ruvflow-"):] for b in os.listdir(bindir) if b.startswith("ruvflow-"))
for w in workers:
    s = svc[w]
    cmd = s["command"]
    assert cmd[0] == "ruvflow-" + w and cmd[1] == "serve", (w, cmd)
    assert s["stop_signal"] == "SIGTERM" and "replicas" in s["deploy"], w
assert svc["scheduler"]["command"][:2] == ["ruvflow", "scheduler"]
with open(os.path.join(out, "compose.env"), "w") as f:
    for k, v in svc["scheduler"]["environment"].items():
        f.write("%s=%s\n" % (k, v))
print("workers", " ".join(workers))
PY
check_eq "compose has Redis, MinIO, its bucket, the scheduler and every worker type" 0 $?
cat "$t/compose.out"
check "ruvflow config check-env accepts the compose environment" "$R" config check-env "$t/compose.env"

# --- Dockerfile -------------------------------------------------------------
D=$RF_ROOT/infra/Dockerfile
stage_pkgs() { # n: the packages of the n-th apt-get install
  awk -v n="$1" '/apt-get install/ {k++} k == n {print} k == n && !/\\$/ {exit}' "$D" |
    tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vxE 'apt-get|install|update|rm|run|and|debian_frontend=noninteractive' | sort -u
}
check_eq "the build stage installs every build package of infra/deps.sh" "" \
  "$(comm -23 <(echo "$build_pkgs") <(stage_pkgs 1))"
stage_pkgs 2 >"$t/runtime.pkgs"
missing=$(for b in "$RF_BIN"/ruvflow "$RF_BIN"/ruvflow-*; do objdump -p "$b" | awk '/NEEDED/ {print $2}'; done |
  sort -u | while read -r so; do
    owners=$(dpkg -S "*/$so" 2>/dev/null | cut -d: -f1 | tr ',' '\n' | tr -d ' ' | sort -u)
    # libc6 is in every Debian image; the others must be installed. The
    # sanitizer runtimes (a `make SANITIZE=1` build) never go in the image.
    grep -qx libc6 <<<"$owners" && continue
    [[ $so == libasan.so* || $so == libubsan.so* ]] && continue
    comm -12 <(echo "$owners") "$t/runtime.pkgs" | grep -q . || echo "$so"
  done)
check_eq "the runtime stage ships every library the binaries need" "" "$missing"
finish
