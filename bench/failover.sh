#!/bin/bash
# Failover time of a pair of supervisors on one PostgreSQL store
# (docs/performance.md, "Failover"; docs/high-availability.md): the time from
# `kill -9` of the active supervisor to the first item the standby dispatches,
# over ROUNDS failovers (median and worst). Two workers of 2 slots run a job of
# short items (each writes when it starts); after each kill, the first start
# stamped later than 0.2 s after the kill is the new active's first dispatch (a
# dead supervisor dispatches nothing; what it handed out just before starts
# within a few ms). The killed one is started again, as a
# standby, on the same endpoints before the next round, so they alternate.
# PostgreSQL is a throwaway cluster in a temporary directory (as store_dispatch.sh).
#
#   bench/failover.sh [--build DIR] [ROUNDS]     (default: build, 10 rounds)
set -euo pipefail
BUILD=build
if [ "${1:-}" = "--build" ]; then BUILD=$2; shift 2; fi
ROUNDS=${1:-10}
BIN=$(cd "$BUILD/bin" && pwd)
for b in qbsupervisor qbworker qbsub qb; do
  [ -x "$BIN/$b" ] || { echo "failover.sh: $BIN/$b is missing; build it" >&2; exit 2; }
done
command -v jq > /dev/null || { echo "failover.sh: needs jq" >&2; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "failover.sh: no PostgreSQL (apt install postgresql)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/qube-failover.XXXXXX)
chmod 755 "$WORK"
AS=()
if [ "$(id -u)" -eq 0 ]; then chown nobody "$WORK"; AS=(runuser -u nobody --); fi
PORT=$(( 20000 + RANDOM % 20000 ))
declare -A PID
cleanup() {
  for p in "${PID[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -A trust -U qube -E UTF8 --locale=C > "$WORK/initdb.log" 2>&1
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1" start > /dev/null
URI="postgresql://qube@127.0.0.1:$PORT/postgres"
printf 'heartbeat_interval: 0.5\nheartbeat_misses: 4\n' > "$WORK/sup.yaml"
W=( "tcp://127.0.0.1:$((PORT + 1))" "tcp://127.0.0.1:$((PORT + 3))" )
C=( "tcp://127.0.0.1:$((PORT + 2))" "tcp://127.0.0.1:$((PORT + 4))" )
export QB_SUPERVISOR="${C[0]},${C[1]}"

start_sup() {  # start_sup 0|1
  "$BIN/qbsupervisor" --config "$WORK/sup.yaml" --data "$WORK/sup$1" --store "$URI" \
    --workers "${W[$1]}" --clients "${C[$1]}" >> "$WORK/sup$1.log" 2>&1 &
  PID[sup$1]=$!
}
active_pid() { "$BIN/qb" admin status --json 2> /dev/null | jq -r '.active.name // "none:0"' | sed 's/.*://'; }
standbys() { "$BIN/qb" admin status --json 2> /dev/null | jq -r '.standbys | length' || echo 0; }
now() { date +%s.%N; }

start_sup 0
until [ "$(active_pid)" = "${PID[sup0]}" ]; do sleep 0.1; done
start_sup 1
for w in 1 2; do
  "$BIN/qbworker" --supervisor "${W[0]},${W[1]}" --name "w$w" --slots 2 > "$WORK/w$w.log" 2>&1 &
  PID[w$w]=$!
done
STARTS=$WORK/starts
"$BIN/qbsub" --range 1-100000 --cpus 4 sh -c "date +%s.%N >> $STARTS; sleep 0.05" > /dev/null
until [ -s "$STARTS" ]; do sleep 0.1; done

RESULTS=()
for round in $(seq 1 "$ROUNDS"); do
  until [ "$(standbys)" = 1 ]; do sleep 0.2; done
  sleep 1  # the run under way on the active one
  active=$(active_pid)
  which=0; [ "$active" = "${PID[sup1]}" ] && which=1
  kill -9 "$active"
  killed_at=$(now)
  first=
  while [ -z "$first" ]; do
    sleep 0.05
    # An item the dead one handed out just before the kill may still start a
    # few ms after it; no new active can dispatch within 0.2 s (the lease).
    first=$(awk -v t="$killed_at" '$1 > t + 0.2 { print $1; exit }' "$STARTS")
  done
  took=$(echo "$first - $killed_at" | bc -l)
  RESULTS+=("$took")
  printf 'failover %2d: supervisor %d killed; first dispatch by the other after %.2f s\n' "$round" "$which" "$took"
  start_sup "$which"  # back, as the standby
done
printf '%s\n' "${RESULTS[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "%d failovers: median %.2f s, worst %.2f s\n", NR, m, v[NR] }'
