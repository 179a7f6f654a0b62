#!/usr/bin/env bash
# Issue 7's "real processes" figure, measured simply: N frames of PROGRAM (default
# /bin/true) on one real qbworker with 2 slots, from submit to the completion time
# the supervisor records for the job, against `seq N | xargs -P2 -n1 PROGRAM` in
# the same run.
#   bench/real_processes.sh [N] [BUILD_DIR] [PROGRAM]     (default 1000, build/, /bin/true)
# qbsub --waiton polls every 200 ms, but the figure ends at the recorded
# completion, not when the poll notices (a faster poll would take CPU from the
# run it measures). items_s: the items' own walltimes, summed, over the
# 2 slots: what is left of qube_s is the farm's own cost.
# KEYS=1: with CURVE keys required (the worker and the client get their keys).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
BIN=${2:-build}/bin
PROGRAM=${3:-/bin/true}
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
SUP_KEYS=() WORKER_KEYS=()
[ -n "${KEYS:-}" ] && SUP_KEYS=(--keys "$DIR/keys" --keys-required) && WORKER_KEYS=(--keys "$DIR/worker" --config "$DIR/worker.yaml")
source bench/lib/supervisor.sh
start_supervisor "${SUP_KEYS[@]}"
if [ -n "${KEYS:-}" ]; then
  "$BIN/qb" keys init --dir "$DIR/me" --supervisor-key "$DIR/keys/supervisor.key" > /dev/null
  "$BIN/qb" keys init --worker bench --dir "$DIR/worker" --supervisor-key "$DIR/keys/supervisor.key" > /dev/null
  cp "$DIR/me/user.key" "$DIR/keys/users/$(id -un).key"
  cp "$DIR/worker/worker.key" "$DIR/keys/workers/bench.key"
  echo "run_as: self" > "$DIR/worker.yaml"  # the bench's user owns the job: no account switch
  export QB_KEYS=$DIR/me
fi
"$BIN/qbworker" --supervisor "$(endpoint workers)" --name bench --slots 2 --log-level warn "${WORKER_KEYS[@]}" &
for _ in $(seq 100); do "$BIN/qb" hosts --json | grep -q '"active"' && break; sleep 0.05; done

start=$(date +%s.%N)
out=$("$BIN/qbsub" --range "1-$N" --cpus 2 --waiton "$PROGRAM" 2>/dev/null)
id=${out%%$'\n'*}
read -r qube items < <("$BIN/qb" show "$id" --json | python3 -c '
import json, sys
job = json.load(sys.stdin)
job = job[0] if isinstance(job, list) else job
print(job["timecomplete"] - float(sys.argv[1]), sum(i["walltime"] for i in job["agenda"]) / 2)' "$start")
start=$(date +%s.%N)
seq "$N" | xargs -P2 -n1 "$PROGRAM"
xargs_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
awk -v n="$N" -v q="$qube" -v i="$items" -v x="$xargs_s" \
  'BEGIN{printf "{\"frames\": %d, \"qube_s\": %.3f, \"items_s\": %.3f, \"xargs_s\": %.3f, \"ratio\": %.2f}\n", n, q, i, x, q/x}'
