#!/usr/bin/env bash
# Supervisor start time with a big store (issue 19): J jobs of I items each
# (default 100,000 x 100 = 10,000,000 items), submitted held (nothing runs),
# then the supervisor is stopped and started again, R times (default 3): the
# time from its start to its first answered ping, and its RSS then.
#   bench/start_time.sh [J] [I] [R] [BUILD_DIR] [STORE]
# STORE: a postgresql://... URI to measure that store (an empty database), else
# SQLite in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
J=${1:-100000}
I=${2:-100}
R=${3:-3}
BIN=${4:-build}/bin
STORE=${5:-}
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
SUP=
store_args=()
[ -n "$STORE" ] && store_args=(--store "$STORE")

source bench/lib/supervisor.sh

# start: a supervisor on the data dir; waits until its first ping is answered;
# STARTED: the seconds that took.
start() {
  local t0=$(date +%s.%N)
  start_supervisor "${store_args[@]}"
  until QB_TIMEOUT=1 "$BIN/qb" ping > /dev/null 2>&1; do sleep 0.01; done
  STARTED=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
}
stop() { kill -TERM "$SUP"; wait "$SUP" || true; }

start
echo "empty store: started in $STARTED s"
# J held jobs of I items, 1,000 jobs per job file.
per_file=1000
t0=$(date +%s)
for b in $(seq 0 $(( (J - 1) / per_file ))); do
  { echo "jobs:"
    for i in $(seq $(( b * per_file + 1 )) $(( (b + 1) * per_file > J ? J : (b + 1) * per_file ))); do
      echo "  - {name: s$i, type: cmdrange, range: 1-$I, blocked: true, package: {cmdline: /bin/true}}"
    done; } > "$DIR/jobs.yaml"
  QB_TIMEOUT=600 "$BIN/qbsub" --file "$DIR/jobs.yaml" > /dev/null 2>&1
done
echo "stored $J jobs of $I items ($(( J * I )) items) in $(( $(date +%s) - t0 )) s;" \
     "SQLite file $(du -sh "$DIR/data" | cut -f1)"
stop
for r in $(seq "$R"); do
  start
  echo "restart $r: first ping answered after $STARTED s; RSS $(awk '/VmRSS/{print int($2/1024)}' /proc/$SUP/status) MB"
  stop
done
