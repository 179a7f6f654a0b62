#!/usr/bin/env bash
# Builds Qube's .deb packages, installs them with dpkg -i, starts the supervisor
# and a worker, runs a job through the installed qbsub to completion, and purges
# the packages (issue 17; docs/operations.md).
#   packaging/test-debs.sh [BUILD_DIR]
# BUILD_DIR (default: a temporary one) is configured Release for /usr and built.
# A BUILD_DIR configured already (CI passes the test stage's build/) is packaged
# as it is built: only its install prefix is set to /usr for the packages, and
# put back at the end. Nothing compiled depends on the prefix (sdk/src/paths.cpp
# finds files from the binary's own place), so nothing is compiled again. Needs root and dpkg; skips (exit 77) without
# them, or when Qube packages are installed already (it would purge them).
# With systemd as PID 1 the daemons run as the installed units; otherwise (a
# container) they are started from the installed paths the way the units do.
set -euo pipefail
SKIP=77
src=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "test-debs: $*"; }
[ "$(id -u)" -eq 0 ] || { say "skipped: needs root (dpkg -i)"; exit $SKIP; }
command -v dpkg >/dev/null && command -v cpack >/dev/null || { say "skipped: needs dpkg and cpack"; exit $SKIP; }
if dpkg-query -W -f='${Status}\n' qube-common qube-supervisor qube-worker qube-client qube-dev 2>/dev/null |
   grep -q "ok installed"; then
  say "skipped: Qube packages are installed on this machine; this test would purge them"; exit $SKIP
fi

build=${1:-$(mktemp -d /tmp/qube-debs.XXXXXX)}
old_prefix=
if [ -f "$build/CMakeCache.txt" ]; then
  old_prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
  say "packaging the build in $build (install prefix $old_prefix set to /usr meanwhile)"
  cmake -B "$build" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
else
  say "building in $build"
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
fi
restore_prefix() {
  if [ -n "$old_prefix" ] && [ "$old_prefix" != /usr ]; then
    cmake -B "$build" -DCMAKE_INSTALL_PREFIX="$old_prefix" >/dev/null || true
  fi
}
trap restore_prefix EXIT
cmake --build "$build" -j"$(nproc)" >/dev/null
rm -f "$build"/qube-*.deb
(cd "$build" && cpack -G DEB >/dev/null 2>&1) || { say "FAIL: cpack"; exit 1; }
debs=("$build"/qube-*.deb)
say "built ${#debs[@]} packages: $(cd "$build" && echo qube-*.deb)"
[ ${#debs[@]} -eq 5 ] || { say "FAIL: expected 5 packages"; exit 1; }

systemd=no
[ -d /run/systemd/system ] && systemd=yes
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  dpkg --purge qube-dev qube-client qube-worker qube-supervisor qube-common >/dev/null 2>&1 || true
  restore_prefix
}
trap cleanup EXIT

say "dpkg -i"
dpkg -i "${debs[@]}" >/dev/null
for f in /usr/bin/qbsupervisor /usr/bin/qbworker /usr/bin/qbinstance /usr/bin/qb /usr/bin/qbsub \
         /usr/lib/libqube.so.0 /usr/lib/qube/jobtypes/libqube_jobtype_cmdline.so /etc/qube/supervisor.yaml \
         /etc/qube/worker.yaml /etc/qube/client.yaml /etc/qube/jobtypes/cmdline.yaml \
         /usr/lib/systemd/system/qbsupervisor.service /usr/lib/systemd/system/qbworker.service /etc/logrotate.d/qube \
         /usr/share/bash-completion/completions/qb /usr/include/qube/jobtype.hpp /usr/lib/cmake/Qube/QubeConfig.cmake; do
  [ -e "$f" ] || { say "FAIL: $f not installed"; exit 1; }
done
getent passwd qube >/dev/null || { say "FAIL: no qube user"; exit 1; }
[ "$(stat -c %U /var/lib/qube)" = qube ] || { say "FAIL: /var/lib/qube is not qube's"; exit 1; }
grep -qx /etc/qube/supervisor.yaml /var/lib/dpkg/info/qube-supervisor.conffiles || { say "FAIL: conffiles"; exit 1; }
/usr/bin/qbsupervisor --check-config --config /etc/qube/supervisor.yaml >/dev/null
/usr/bin/qbworker --check-config --config /etc/qube/worker.yaml >/dev/null

# Jobs run as their owner (the worker is root, and refuses root jobs): what an
# admin edits in the conffile. The job is submitted as nobody.
echo "run_as: owner" >> /etc/qube/worker.yaml

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

worker=debtest
if [ $systemd = yes ]; then
  worker=$(hostname)
  say "starting the units"
  systemctl daemon-reload
  systemctl restart qbsupervisor qbworker
  wait_for 30 systemctl is-active --quiet qbsupervisor || { journalctl -u qbsupervisor | tail; exit 1; }
  export QB_SUPERVISOR=tcp://127.0.0.1:50002
else
  say "no systemd as PID 1: starting the installed daemons as the units would"
  rm -f /var/lib/qube/endpoints.json
  # Port 0: this machine may run other farms' tests.
  (cd /var/lib/qube && exec runuser -u qube -- /usr/bin/qbsupervisor --config /etc/qube/supervisor.yaml \
     --data /var/lib/qube --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0) &
  pids+=($!)
  wait_for 30 test -s /var/lib/qube/endpoints.json || { say "FAIL: the supervisor did not start"; exit 1; }
  endpoint() { python3 -c "import json,sys; print(json.load(open('/var/lib/qube/endpoints.json'))[sys.argv[1]])" "$1"; }
  export QB_SUPERVISOR; QB_SUPERVISOR=$(endpoint clients)
  /usr/bin/qbworker --config /etc/qube/worker.yaml --supervisor "$(endpoint workers)" --name "$worker" &
  pids+=($!)
fi
wait_for 30 bash -c "/usr/bin/qb hosts | grep -qw '$worker'" || { say "FAIL: worker $worker did not register"; exit 1; }

say "running a job through the installed qbsub"
out=$(mktemp)
id=$(runuser -u nobody -- /usr/bin/qbsub --name debtest --range 1-3 --json sh -c 'echo frame QB_FRAME_NUMBER' |
     python3 -c "import json,sys; j=json.load(sys.stdin); print((j[0] if isinstance(j, list) else j)['id'])")
/usr/bin/qb wait --timeout 60 "$id" >/dev/null || { /usr/bin/qb show "$id"; say "FAIL: job $id did not complete"; exit 1; }
/usr/bin/qb out "$id" > "$out"
grep -q "frame 3" "$out" || { cat "$out"; say "FAIL: job $id's output lacks frame 3"; exit 1; }
say "job $id complete"

say "purging"
for p in "${pids[@]}"; do kill "$p"; done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
trap restore_prefix EXIT
dpkg --purge qube-dev qube-client qube-worker qube-supervisor qube-common >/dev/null
for f in /usr/bin/qbsupervisor /etc/qube/supervisor.yaml /var/lib/qube /usr/lib/systemd/system/qbworker.service; do
  [ ! -e "$f" ] || { say "FAIL: $f left after purge"; exit 1; }
done
say "PASS"
