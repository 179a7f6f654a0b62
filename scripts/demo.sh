#!/usr/bin/env bash
# Sets up, builds, starts a supervisor and one worker on loopback with their data
# in .qube/, submits a 20-frame job and shows it rendering to the end.
#   scripts/demo.sh        run the demo (the daemons keep running afterwards)
#   scripts/demo.sh stop   stop the daemons
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/.qube"
# The product alone, as a user builds it (Release, no test suite or benchmarks):
# a few minutes on two cores, where the developers' build/ with every test takes
# three times as long.
BUILD="$ROOT/build-demo"
BIN="$BUILD/bin"

stop() {
  for f in "$STATE"/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}
if [ "${1:-}" = "stop" ]; then
  stop
  echo "daemons stopped"
  exit 0
fi

scripts/setup.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON \
  -DQUBE_BUILD_TESTS=OFF -DQUBE_BUILD_BENCH=OFF > /dev/null
cmake --build "$BUILD" -j "$(nproc)"
stop
mkdir -p "$STATE"
rm -f "$STATE/data/endpoints.json"

# Port 0: the supervisor picks free ports and writes them to endpoints.json.
"$BIN/qbsupervisor" --data "$STATE/data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 \
  > "$STATE/supervisor.log" 2>&1 &
echo $! > "$STATE/supervisor.pid"
for _ in $(seq 100); do [ -s "$STATE/data/endpoints.json" ] && break; sleep 0.1; done
[ -s "$STATE/data/endpoints.json" ] || { echo "supervisor did not start; see $STATE/supervisor.log"; exit 1; }
endpoint() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$STATE/data/endpoints.json"; }
WORKERS=$(endpoint workers)
export QB_SUPERVISOR=$(endpoint clients)

"$BIN/qbworker" --supervisor "$WORKERS" --name "$(hostname)-demo" --slots 2 > "$STATE/worker.log" 2>&1 &
echo $! > "$STATE/worker.pid"
for _ in $(seq 100); do "$BIN/qb" hosts --json 2>/dev/null | grep -q '"active"' && break; sleep 0.1; done

echo
echo "== supervisor at $QB_SUPERVISOR, one worker with 2 slots"
"$BIN/qb" hosts
echo
echo "== qbsub --range 1-20 --cpus 2 ..."
ID=$("$BIN/qbsub" --name demo-render --range 1-20 --cpus 2 \
      sh -c 'echo "rendering frame QB_FRAME_NUMBER on $(hostname)"; sleep 0.3')
echo "submitted job $ID"
"$BIN/qb" wait "$ID"
echo
"$BIN/qb" show "$ID"
echo
echo "== first lines of its output (qb out $ID)"
"$BIN/qb" out "$ID" | head -n 6
cat <<EOT

The daemons are still running. To look around:
  export QB_SUPERVISOR=$QB_SUPERVISOR
  export PATH=$BIN:\$PATH
  qb jobs; qb show $ID; qb out $ID.0; qb hosts; qbsub --range 1-5 echo frame QB_FRAME_NUMBER
Logs: $STATE/supervisor.log $STATE/worker.log
Stop the daemons: scripts/demo.sh stop
EOT
