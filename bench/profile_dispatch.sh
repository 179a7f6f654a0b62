#!/usr/bin/env bash
# Profiles qbsupervisor with perf while it dispatches ITEMS one-frame items to
# HOSTS simulated workers, and prints the hottest functions (self and children).
#   bench/profile_dispatch.sh [ITEMS] [HOSTS] [BUILD_DIR] [SECONDS]
#   (default 6000 1200 build/ 5: the whole 6,000-item run fits in the window)
# perf.data is left in the output directory it prints, for `perf report -i`.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-6000}
HOSTS=${2:-1200}
BIN=${3:-build}/bin
SECONDS_=${4:-5}
command -v perf > /dev/null || { echo "profile_dispatch.sh: needs perf (apt-get install linux-perf)" >&2; exit 2; }
OUTDIR=$(mktemp -d /tmp/qube-profile.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done; wait 2> /dev/null || true' EXIT

"$BIN/qbsupervisor" --data "$OUTDIR/data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 \
  --log-level error > "$OUTDIR/supervisor.log" 2>&1 &
SUP=$!
PIDS+=("$SUP")
for _ in $(seq 200); do [ -s "$OUTDIR/data/endpoints.json" ] && break; sleep 0.02; done
EP=$OUTDIR/data/endpoints.json

"$BIN/qbsim" farm --endpoints "$EP" --workers "$HOSTS" --ramp 1 > "$OUTDIR/farm.out" &
PIDS+=("$!")
for _ in $(seq 600); do grep -q ready "$OUTDIR/farm.out" 2> /dev/null && break; sleep 0.1; done

# DWARF unwinding: the build has no frame pointers. cpu-clock: no PMU in a VM.
perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$SUP" -o "$OUTDIR/perf.data" \
  -- sleep "$SECONDS_" 2> "$OUTDIR/perf.log" &
PERF=$!
sleep 0.3
"$BIN/qbsim" dispatch --endpoints "$EP" --workers 0 --cpus "$HOSTS" --items "$ITEMS" --timeout "$SECONDS_" |
  jq -c .result
wait "$PERF" || true
echo "== self time (top 25)"
perf report -i "$OUTDIR/perf.data" --no-children --sort symbol --stdio -g none 2> /dev/null |
  grep -v '^#' | grep -v '^$' | head -25 || true
echo "== including callees (top 40)"
perf report -i "$OUTDIR/perf.data" --children --sort symbol --stdio -g none 2> /dev/null |
  grep -v '^#' | grep -v '^$' | head -40 || true
echo "perf data: $OUTDIR/perf.data"
