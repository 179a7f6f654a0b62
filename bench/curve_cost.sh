#!/usr/bin/env bash
# What CURVE keys cost (issue 14): the dispatch rate (6,000 items on 1,200
# simulated hosts) and the real-process ratio (bench/real_processes.sh), with
# keys off and on, interleaved round by round so that both see the same machine.
#   bench/curve_cost.sh [ROUNDS] [BUILD_DIR]      (default 3 and build/)
# Prints one JSON line per measurement, then the medians. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BUILD=$(cd "${2:-build}" && pwd)
BIN=$BUILD/bin
WORK=$(mktemp -d /tmp/qube-curve.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

# dispatch MODE N: one qbsim dispatch on a fresh supervisor, keys on or off.
dispatch() {
  local data=$WORK/$1-$2 keys=() sim=()
  [ "$1" = on ] && keys=(--keys "$data/keys" --keys-required) && sim=(--keys "$data/keys")
  "$BIN/qbsupervisor" --data "$data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 --log-level error \
    "${keys[@]}" > "$data.log" 2>&1 &
  local sup=$!
  for _ in $(seq 200); do [ -s "$data/endpoints.json" ] && break; sleep 0.02; done
  if [ "$1" = on ]; then
    "$BIN/qb" keys init --dir "$data/me" --supervisor-key "$data/keys/supervisor.key" > /dev/null
    cp "$data/me/user.key" "$data/keys/users/$(id -un).key"
  fi
  QB_KEYS=$data/me "$BIN/qbsim" dispatch --endpoints "$data/endpoints.json" --workers 1200 --items 6000 --ramp 1 \
    "${sim[@]}" | jq -c --arg keys "$1" '{bench: "dispatch", keys: $keys, items_per_s: .result.items_per_s}'
  kill "$sup"; wait "$sup" 2> /dev/null || true
}

real() {
  local k=
  [ "$1" = on ] && k=1
  KEYS=$k bench/real_processes.sh 1000 "$BUILD" | jq -c --arg keys "$1" '{bench: "real", keys: $keys} + .'
}

results=$WORK/results.jsonl
for r in $(seq "$ROUNDS"); do
  for mode in off on; do
    dispatch "$mode" "$r" | tee -a "$results"
    real "$mode" | tee -a "$results"
  done
done
jq -s -c 'def median: sort | .[length/2|floor];
  group_by(.bench + .keys) | map({bench: .[0].bench, keys: .[0].keys,
    median: (if .[0].bench == "dispatch" then (map(.items_per_s) | median) else (map(.ratio) | median) end),
    xargs_s: (map(.xargs_s // empty) | median)})' "$results"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
