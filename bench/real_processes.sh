#!/usr/bin/env bash
# Issue 7's "real processes" figure, measured simply: N frames of /bin/true on one
# real qbworker with 2 slots, from submit to the job recorded complete, against
# `seq N | xargs -P2 -n1 /bin/true` in the same run.
#   bench/real_processes.sh [N] [BUILD_DIR]     (default 1000 and build/)
# The wait polls every 2 ms with `qbsim wait` when it was built (qbsub --waiton
# polls every 200 ms, which would add up to 0.2 s to a run of about a second).
# KEYS=1: with CURVE keys required (the worker and the client get their keys).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
BIN=${2:-build}/bin
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
SUP_KEYS=() WORKER_KEYS=()
[ -n "${KEYS:-}" ] && SUP_KEYS=(--keys "$DIR/keys" --keys-required) && WORKER_KEYS=(--keys "$DIR/worker" --config "$DIR/worker.yaml")
"$BIN/qbsupervisor" --data "$DIR/data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 --log-level warn "${SUP_KEYS[@]}" &
for _ in $(seq 100); do [ -s "$DIR/data/endpoints.json" ] && break; sleep 0.05; done
if [ -n "${KEYS:-}" ]; then
  "$BIN/qb" keys init --dir "$DIR/me" --supervisor-key "$DIR/keys/supervisor.key" > /dev/null
  "$BIN/qb" keys init --worker bench --dir "$DIR/worker" --supervisor-key "$DIR/keys/supervisor.key" > /dev/null
  cp "$DIR/me/user.key" "$DIR/keys/users/$(id -un).key"
  cp "$DIR/worker/worker.key" "$DIR/keys/workers/bench.key"
  echo "run_as: self" > "$DIR/worker.yaml"  # the bench's user owns the job: no account switch
  export QB_KEYS=$DIR/me
fi
endpoint() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$DIR/data/endpoints.json"; }
export QB_SUPERVISOR=$(endpoint clients)
"$BIN/qbworker" --supervisor "$(endpoint workers)" --name bench --slots 2 --log-level warn "${WORKER_KEYS[@]}" &
for _ in $(seq 100); do "$BIN/qb" hosts --json | grep -q '"active"' && break; sleep 0.05; done

start=$(date +%s.%N)
if [ -x "$BIN/qbsim" ]; then
  id=$("$BIN/qbsub" --range "1-$N" --cpus 2 /bin/true 2>/dev/null)
  "$BIN/qbsim" wait --clients-endpoint "$QB_SUPERVISOR" --job "$id" > /dev/null
else
  "$BIN/qbsub" --range "1-$N" --cpus 2 --waiton /bin/true > /dev/null 2>&1
fi
qube=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
start=$(date +%s.%N)
seq "$N" | xargs -P2 -n1 /bin/true
xargs_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
awk -v n="$N" -v q="$qube" -v x="$xargs_s" \
  'BEGIN{printf "{\"frames\": %d, \"qube_s\": %.3f, \"xargs_s\": %.3f, \"ratio\": %.2f}\n", n, q, x, q/x}'
