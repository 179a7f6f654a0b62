#!/bin/bash
# The dispatch rate on the SQLite store and on the PostgreSQL store, in the same
# run (docs/performance.md, "The PostgreSQL store"): run_suite.sh's dispatch
# benchmark (qbsim, 6,000 one-frame items on 1,200 simulated hosts), each round
# once on SQLite and once on PostgreSQL, alternating, each on a fresh store.
# PostgreSQL is a throwaway cluster in a temporary directory (Debian's
# postgresql package; as `nobody` when run as root), with its default
# durability (fsync, synchronous_commit on): a commit is on disk, as SQLite's is.
#
#   bench/store_dispatch.sh [--build DIR] [ROUNDS]     (default: build, 3 rounds)
set -euo pipefail
BUILD=build
if [ "${1:-}" = "--build" ]; then BUILD=$2; shift 2; fi
ROUNDS=${1:-3}
BIN=$BUILD/bin
for b in qbsupervisor qbsim; do
  [ -x "$BIN/$b" ] || { echo "store_dispatch.sh: $BIN/$b is missing; build it" >&2; exit 2; }
done
command -v jq > /dev/null || { echo "store_dispatch.sh: needs jq" >&2; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "store_dispatch.sh: no PostgreSQL (apt install postgresql)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/qube-store-bench.XXXXXX)
AS=()
if [ "$(id -u)" -eq 0 ]; then chown nobody "$WORK"; AS=(runuser -u nobody --); fi
PORT=$(( 20000 + RANDOM % 30000 ))
SUP_PID=
cleanup() {
  [ -n "$SUP_PID" ] && kill "$SUP_PID" 2> /dev/null || true
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -A trust -U qube -E UTF8 --locale=C > "$WORK/initdb.log" 2>&1
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1" start > /dev/null

# one STORE ROUND: one dispatch on a fresh supervisor; prints items/s.
one() {
  local store=sqlite data=$WORK/$1-$2
  mkdir -p "$data"
  if [ "$1" = postgresql ]; then
    "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U qube -d postgres -c "CREATE DATABASE r$2" > /dev/null
    store=postgresql://qube@127.0.0.1:$PORT/r$2
  fi
  "$BIN/qbsupervisor" --data "$data" --store "$store" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 \
    --log-level error > "$data.log" 2>&1 &
  SUP_PID=$!
  for _ in $(seq 250); do [ -s "$data/endpoints.json" ] && break; sleep 0.02; done
  [ -s "$data/endpoints.json" ] || { echo "store_dispatch.sh: the supervisor did not start ($data.log)" >&2; cat "$data.log" >&2; exit 1; }
  "$BIN/qbsim" dispatch --endpoints "$data/endpoints.json" --workers 1200 --items 6000 --ramp 1 | jq .result.items_per_s
  kill "$SUP_PID"; wait "$SUP_PID" 2> /dev/null || true; SUP_PID=
}

declare -A rates
for r in $(seq "$ROUNDS"); do
  for store in sqlite postgresql; do
    rate=$(one "$store" "$r")
    printf 'round %s %-10s %8.0f items/s\n' "$r" "$store" "$rate" >&2
    rates[$store]+="$rate "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END{printf "%.0f (worst %.0f, best %.0f)", v[int((NR+1)/2)], v[1], v[NR]}'; }
echo "dispatch, 6,000 items on 1,200 simulated hosts, $ROUNDS rounds, median items/s:"
for store in sqlite postgresql; do printf '  %-10s %s\n' "$store" "$(median <<< "${rates[$store]}")"; done
