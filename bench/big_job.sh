#!/usr/bin/env bash
# Issue 15's big shapes, each under the stall probe (bench/stall_probe.cpp: a
# ping every 10 ms; its worst round trip is the longest the loop was held):
#   - one job of N items (default 1,000,000): submit, show (summary), show
#     --json (streamed), modify, kill and remove; supervisor RSS per item and
#     after the removal;
#   - `qb jobs` over J jobs (default 10,000);
#   - `qb out` of a log of L MB (default 100).
#   bench/big_job.sh [N] [J] [L] [BUILD_DIR]
# Prints one line per step: its wall time, the probe's worst and p99 round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
J=${2:-10000}
L=${3:-100}
BIN=${4:-build}/bin
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
source bench/lib/supervisor.sh
start_supervisor
export QB_TIMEOUT=120
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$SUP/status"; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$SUP/status"; }

# step LABEL COMMAND...: runs the command under the probe; prints the figures.
step() {
  local label=$1; shift
  "$BIN/stall_probe" --supervisor "$QB_SUPERVISOR" > "$DIR/probe.json" &
  local probe=$!
  local start=$(date +%s.%N)
  "$@" > "$DIR/out" 2> "$DIR/err" || { echo "$label failed:"; cat "$DIR/err"; }
  local secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.3f", b-a}')
  sleep 0.05  # a few more pings after the step
  kill -INT $probe; wait $probe || true
  printf '%-28s %8s s   probe %s\n' "$label" "$secs" "$(cat "$DIR/probe.json")"
}

echo "supervisor RSS at start: $(rss_kb) KB"
base=$(rss_kb)
step "submit $N items" "$BIN/qbsub" --range "1-$N" --status blocked /bin/true
id=$(cat "$DIR/out")
after=$(rss_kb)
echo "supervisor RSS with the job: $after KB: $(( (after - base) * 1024 / N )) B per item"
step "qb show (summary)" "$BIN/qb" show "$id"
hwm_before=$(hwm_kb)
step "qb show --json (all)" /usr/bin/time -f "client peak %M KB" -o "$DIR/time" "$BIN/qb" show "$id" --json
echo "   $(cat "$DIR/time"); supervisor peak RSS grew by $(( $(hwm_kb) - hwm_before )) KB"
step "qb modify --priority" "$BIN/qb" modify "$id" --priority 10
step "qb kill" "$BIN/qb" kill "$id"
step "qb remove" "$BIN/qb" remove "$id"
final=$(rss_kb)
echo "supervisor RSS after removal: $final KB ($(( (final - base) * 100 / base ))% over the start)"

# Many jobs: J one-item jobs in batches, then `qb jobs` over all of them.
# A job file of J blocked one-command jobs, submitted in batches of 1,000.
for b in $(seq 0 $(( (J - 1) / 1000 ))); do
  { echo "name: many-$b"; echo "jobs:"
    for i in $(seq $(( b * 1000 + 1 )) $(( b * 1000 + 1000 > J ? J : b * 1000 + 1000 ))); do
      echo "  - {name: j$i, blocked: true, package: {cmdline: /bin/true}}"; done; } > "$DIR/jobs-$b.yaml"
done
step "submit $J jobs" sh -c "for f in '$DIR'/jobs-*.yaml; do '$BIN/qbsub' --file \$f > /dev/null; done"
step "qb jobs ($J jobs)" "$BIN/qb" jobs
step "qb jobs --json ($J jobs)" "$BIN/qb" jobs --json

# A big log: one worker, one job writing L MB.
"$BIN/qbworker" --supervisor "$(endpoint workers)" --name big --slots 1 --log-level warn &
for _ in $(seq 100); do "$BIN/qb" hosts --json | grep -q '"active"' && break; sleep 0.05; done
log_id=$("$BIN/qbsub" --name biglog sh -c "head -c $((L * 1000000)) /dev/zero | tr '\\0' x" 2>/dev/null)
"$BIN/qb" wait "$log_id" > /dev/null 2>&1 || true
step "qb out ($L MB log)" "$BIN/qb" out "$log_id"
echo "   $(wc -c < "$DIR/out") bytes out"
