#!/usr/bin/env bash
# Issue 7's benchmark suite: a real qbsupervisor (fresh store per benchmark) against
# qbsim's simulated workers, plus one real qbworker. Prints a table and writes JSON.
#
#   bench/run_suite.sh [--build DIR] [--out FILE] [--repeat N] [--keys] [BENCH ...]
#
# --keys: the same with CURVE keys required (docs/security.md): every client and
# simulated worker talks encrypted and authenticated; compare with a run without.
# BENCH: dispatch scale latency real memory idle submit query (default: all).
# --build: a build directory with bin/qbsim (default: build/); --out: the JSON file
# (default: DIR/bench-results.json); --repeat: runs of the short dispatch and the
# query figures, reported as best and spread (default 3).
# Needs jq. Takes about 3-4 minutes on 2 cores. See docs/performance.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
OUT=
REPEAT=3
KEYS=
BENCHES=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --keys) KEYS=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    dispatch|scale|latency|real|memory|idle|submit|query) BENCHES+=("$1"); shift ;;
    *) echo "run_suite.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#BENCHES[@]} -eq 0 ] && BENCHES=(dispatch scale latency real memory idle submit query)
OUT=${OUT:-$BUILD/bench-results.json}
BIN=$BUILD/bin
for b in qbsupervisor qbsim qbsub qb qbworker qbinstance; do
  [ -x "$BIN/$b" ] || { echo "run_suite.sh: $BIN/$b is missing; build it (ninja -C $BUILD qbsim qbsupervisor qbsub qb qbworker qbinstance qube_jobtype_cmdline)" >&2; exit 2; }
done
command -v jq > /dev/null || { echo "run_suite.sh: needs jq (apt-get install jq)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/qube-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
: > "$RESULTS"
PIDS=()
kill_started() {
  for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
}
trap 'kill_started; rm -rf "$WORK"' EXIT
# 10,000 simulated workers need a descriptor each in the supervisor.
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.6f", b-a}'; }
log() { echo "== $*" >&2; }

# start_supervisor NAME: a fresh supervisor on loopback ports; sets SUP_PID and EP.
start_supervisor() {
  local data=$WORK/$1
  KEY_ARGS=()
  SIM_KEYS=()
  if [ -n "$KEYS" ]; then
    KEY_ARGS=(--keys "$data/keys" --keys-required)
    SIM_KEYS=(--keys "$data/keys")
  fi
  "$BIN/qbsupervisor" --data "$data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 \
    --log-level error "${KEY_ARGS[@]}" > "$WORK/$1.log" 2>&1 &
  SUP_PID=$!
  PIDS+=("$SUP_PID")
  EP=$data/endpoints.json
  for _ in $(seq 200); do [ -s "$EP" ] && break; sleep 0.02; done
  [ -s "$EP" ] || { echo "run_suite.sh: the supervisor did not start (see $WORK/$1.log)" >&2; exit 1; }
  CLIENTS=$(jq -r .clients "$EP")
  if [ -n "$KEYS" ]; then  # this user's key, accepted as an admin would (a file in users/)
    "$BIN/qb" keys init --dir "$data/me" --supervisor-key "$data/keys/supervisor.key" > /dev/null
    cp "$data/me/user.key" "$data/keys/users/$(id -un).key"
    export QB_KEYS=$data/me
  fi
}
stop_supervisor() { kill "$SUP_PID" 2> /dev/null || true; wait "$SUP_PID" 2> /dev/null || true; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime

# record NAME VALUE UNIT TARGET OK COMMAND DETAIL_JSON
record() {
  jq -cn --arg name "$1" --argjson value "$2" --arg unit "$3" --arg target "$4" --argjson ok "$5" \
    --arg command "$6" --argjson detail "$7" \
    '{name: $name, value: $value, unit: $unit, target: $target, met: $ok, command: $command, detail: $detail}' \
    >> "$RESULTS"
}
# best and spread of a list of numbers (one per line): "min max median"
stats() { sort -g | awk '{v[NR]=$1} END{printf "%s %s %s\n", v[1], v[NR], v[int((NR+1)/2)]}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{print (a >= b) ? "true" : "false"}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{print (a <= b) ? "true" : "false"}'; }

# dispatch_run NAME WORKERS ITEMS [qbsim options...]: one measured dispatch on a fresh
# supervisor; prints qbsim's JSON.
dispatch_run() {
  local name=$1 workers=$2 items=$3
  shift 3
  start_supervisor "$name"
  "$BIN/qbsim" dispatch --endpoints "$EP" --workers "$workers" --items "$items" --ramp 1 "${SIM_KEYS[@]}" "$@"
  stop_supervisor
}

bench_dispatch() {
  local rates=() runs=() out
  for r in $(seq "$REPEAT"); do
    log "dispatch: 6,000 items on 1,200 simulated hosts (run $r of $REPEAT)"
    out=$(dispatch_run "dispatch6k-$r" 1200 6000)
    runs+=("$out")
    rates+=("$(jq .result.items_per_s <<< "$out")")
  done
  read -r lo hi med < <(printf '%s\n' "${rates[@]}" | stats)
  record "dispatch 6,000 items / 1,200 hosts" "$hi" "items/s (best of $REPEAT; worst $(printf %.0f "$lo"), median $(printf %.0f "$med"))" \
    ">= 10000" "$(ge "$hi" 10000)" "qbsim dispatch --workers 1200 --items 6000" \
    "$(printf '%s\n' "${runs[@]}" | jq -cs '[.[].result]')"

  log "dispatch: 100,000 items on 1,000 simulated hosts (cut at 90 s)"
  out=$(dispatch_run dispatch100k 1000 100000 --timeout 90)
  local rate
  rate=$(jq .result.items_per_s <<< "$out")
  record "dispatch 100,000 items / 1,000 hosts" "$rate" \
    "items/s$(jq -r 'if .result.finished then "" else " (cut short: \(.result.complete_items) done in \(.result.seconds|floor) s)" end' <<< "$out")" \
    ">= 10000" "$(ge "$rate" 10000)" "qbsim dispatch --workers 1000 --items 100000 --timeout 90" "$(jq -c .result <<< "$out")"
}

# The rate must not fall as pending work grows: 10,000 items alone, then the same
# job (priority 1) behind 990,000 pending items of 99 jobs no worker can run.
bench_scale() {
  log "scale: 10,000 items on 1,000 hosts, nothing else pending"
  local small big
  small=$(dispatch_run scale-10k 1000 10000)
  log "scale: the same with 990,000 items pending in 99 other jobs"
  start_supervisor scale-1m
  "$BIN/qbsim" submit --endpoints "$EP" --jobs 99 --items 10000 --type bench-unoffered > /dev/null
  big=$("$BIN/qbsim" dispatch --endpoints "$EP" --workers 1000 --items 10000 --priority 1 --ramp 1)
  stop_supervisor
  local r1 r2
  r1=$(jq .result.items_per_s <<< "$small")
  r2=$(jq .result.items_per_s <<< "$big")
  record "dispatch, 10,000 pending" "$r1" "items/s" ">= 10000" "$(ge "$r1" 10000)" \
    "qbsim dispatch --workers 1000 --items 10000" "$(jq -c .result <<< "$small")"
  record "dispatch, 1,000,000 pending" "$r2" "items/s" "no fall from 10,000 pending" \
    "$(ge "$r2" "$(awk -v a="$r1" 'BEGIN{print a*0.9}')")" \
    "qbsim submit --jobs 99 --items 10000 --type bench-unoffered; qbsim dispatch --workers 1000 --items 10000 --priority 1" \
    "$(jq -c .result <<< "$big")"
}

bench_latency() {
  log "latency: submit to first start, 200 one-frame jobs on an idle farm of 1,000 hosts"
  start_supervisor latency
  local out
  out=$("$BIN/qbsim" latency --endpoints "$EP" --workers 1000 --samples 200 --ramp 1)
  stop_supervisor
  local p50 p99
  p50=$(jq .result.submit_to_first_start.p50_ms <<< "$out")
  p99=$(jq .result.submit_to_first_start.p99_ms <<< "$out")
  record "latency p50 (submit to first start)" "$p50" "ms" "<= 5" "$(le "$p50" 5)" \
    "qbsim latency --workers 1000 --samples 200" "$(jq -c .result <<< "$out")"
  record "latency p99 (submit to first start)" "$p99" "ms" "<= 50" "$(le "$p99" 50)" \
    "qbsim latency --workers 1000 --samples 200" "{}"
}

bench_real() {
  log "real processes: 1,000 frames of /bin/true on one 2-slot qbworker vs xargs -P2"
  local out ratio
  out=$(KEYS=$KEYS "$ROOT/bench/real_processes.sh" 1000 "$BUILD")
  ratio=$(jq .ratio <<< "$out")
  record "real processes (qube / xargs -P2)" "$ratio" "x" "<= 1.15" "$(le "$ratio" 1.15)" \
    "bench/real_processes.sh 1000" "$out"
}

bench_memory() {
  log "memory: supervisor RSS with 1,000,000 pending items (100 jobs of 10,000, no worker)"
  start_supervisor memory
  local before after out per
  before=$(rss_kb "$SUP_PID")
  out=$("$BIN/qbsim" submit --endpoints "$EP" --jobs 100 --items 10000 --type bench-unoffered)
  sleep 1  # let the round that committed the last job finish
  after=$(rss_kb "$SUP_PID")
  stop_supervisor
  per=$(awk -v a="$after" -v b="$before" 'BEGIN{printf "%.1f", (a-b)*1024/1000000}')
  record "memory per pending item" "$per" "bytes" "<= 300" "$(le "$per" 300)" \
    "qbsim submit --jobs 100 --items 10000 --type bench-unoffered; VmRSS before and after" \
    "$(jq -c --argjson b "$before" --argjson a "$after" '{rss_before_kb: $b, rss_after_kb: $a, submit: .result}' <<< "$out")"
}

bench_idle() {
  log "idle: supervisor CPU with 10,000 simulated workers heartbeating (2 s interval)"
  start_supervisor idle
  local fifo1=$WORK/farm1.out fifo2=$WORK/farm2.out
  # Two processes of 5,000: each ZeroMQ socket costs two descriptors.
  "$BIN/qbsim" farm --endpoints "$EP" --workers 5000 --first 0 --ramp 8 --threads 1 > "$fifo1" &
  local f1=$!
  PIDS+=("$f1")
  "$BIN/qbsim" farm --endpoints "$EP" --workers 5000 --first 5000 --ramp 8 --threads 1 > "$fifo2" &
  local f2=$!
  PIDS+=("$f2")
  for _ in $(seq 600); do
    grep -q ready "$fifo1" 2> /dev/null && grep -q ready "$fifo2" 2> /dev/null && break
    sleep 0.1
  done
  grep -q ready "$fifo1" && grep -q ready "$fifo2" || { echo "run_suite.sh: the idle farm did not register" >&2; exit 1; }
  sleep 3  # registration's after-effects settle
  local window=10 c0 s0 c1 s1 t0 t1 pct sims
  c0=$(cpu_ticks "$SUP_PID"); s0=$(( $(cpu_ticks "$f1") + $(cpu_ticks "$f2") )); t0=$(now)
  sleep "$window"
  c1=$(cpu_ticks "$SUP_PID"); s1=$(( $(cpu_ticks "$f1") + $(cpu_ticks "$f2") ))
  local elapsed
  elapsed=$(since "$t0")
  local hz
  hz=$(getconf CLK_TCK)
  pct=$(awk -v a="$c0" -v b="$c1" -v t="$elapsed" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz/t*100}')
  sims=$(awk -v a="$s0" -v b="$s1" -v t="$elapsed" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz/t*100}')
  local hosts
  # Listing 10,000 hosts is slow (itself a finding): allow it a minute.
  local t_hosts
  t_hosts=$(now)
  hosts=$(QB_TIMEOUT=60 "$BIN/qb" hosts --json --supervisor "$CLIENTS" | jq '[.[] | select(.state == "active")] | length')
  t_hosts=$(since "$t_hosts")
  kill "$f1" "$f2" 2> /dev/null || true
  wait "$f1" "$f2" 2> /dev/null || true
  stop_supervisor
  record "idle cost, 10,000 workers" "$pct" "% of one core" "< 10" "$(awk -v p="$pct" 'BEGIN{print (p < 10) ? "true" : "false"}')" \
    "2 x qbsim farm --workers 5000; /proc/PID/stat utime+stime over ${window} s" \
    "$(jq -cn --argjson w "$window" --argjson a "$hosts" --argjson s "$sims" --argjson q "$t_hosts" \
      '{window_s: $w, active_hosts: $a, simulator_cpu_pct: $s, qb_hosts_s: $q}')"
}

bench_submit() {
  log "submission: one job of 100,000 frames, qbsub start to accepted"
  start_supervisor submit
  local times=() t
  for r in $(seq "$REPEAT"); do
    t=$(now)
    QB_TIMEOUT=120 "$BIN/qbsub" --supervisor "$CLIENTS" --range 1-100000 /bin/true > /dev/null
    times+=("$(since "$t")")
  done
  stop_supervisor
  read -r lo hi med < <(printf '%s\n' "${times[@]}" | stats)
  record "submit 100,000 frames" "$lo" "s (best of $REPEAT; worst $hi)" "< 1" "$(awk -v a="$lo" 'BEGIN{print (a < 1) ? "true" : "false"}')" \
    "time qbsub --range 1-100000 /bin/true" "$(printf '%s\n' "${times[@]}" | jq -cs '{seconds: .}')"
}

bench_query() {
  log "queries: qb jobs --json with 10,000 jobs in the store"
  start_supervisor query
  "$BIN/qbsim" submit --endpoints "$EP" --jobs 10000 --items 1 --batch 500 --type bench-unoffered > /dev/null
  # qb's own time, its output written to a file as a user's redirect would; the
  # jobs are counted afterwards (jq alone takes most of a second to parse 11 MB).
  local times=() t n out="$WORK/jobs.json"
  for r in $(seq $((REPEAT + 2))); do
    t=$(now)
    "$BIN/qb" jobs --json --supervisor "$CLIENTS" > "$out"
    times+=("$(since "$t")")
  done
  n=$(jq length "$out")
  local raw
  raw=$("$BIN/qbsim" query --endpoints "$EP" --samples 5)
  stop_supervisor
  read -r lo hi med < <(printf '%s\n' "${times[@]}" | stats)
  local ms
  ms=$(awk -v a="$lo" 'BEGIN{printf "%.1f", a*1000}')
  record "qb jobs --json, 10,000 jobs" "$ms" "ms (best of $((REPEAT + 2)); worst $(awk -v a="$hi" 'BEGIN{printf "%.0f", a*1000}'))" "< 200" \
    "$(le "$ms" 200)" "time qb jobs --json > FILE" \
    "$(printf '%s\n' "${times[@]}" | jq -cs --argjson n "$n" --argjson raw "$(jq -c .result <<< "$raw")" \
      '{seconds: ., jobs_listed: $n, raw_request_without_qb: $raw}')"
}

MACHINE=$(jq -cn --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  --argjson n "$(nproc)" --arg kernel "$(uname -r)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg commit "${QUBE_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)}" \
  '{cpu: $cpu, nproc: $n, kernel: $kernel, loadavg_at_start: $load, commit: $commit}')
# Each benchmark runs in a subshell that ends whatever it started: one that fails
# is reported and the others still run. The JSON is rewritten after each.
FAILED=()
for b in "${BENCHES[@]}"; do
  if ! (trap kill_started EXIT; "bench_$b"); then
    echo "run_suite.sh: benchmark '$b' failed (logs were in $WORK)" >&2
    FAILED+=("$b")
  fi
  jq -s --argjson machine "$MACHINE" '{machine: $machine, results: .}' "$RESULTS" > "$OUT"
done
echo
printf '%-40s %14s  %-44s %-28s %s\n' "figure" "value" "unit" "target" "met"
jq -r '.results[] | [.name, (.value|tostring), .unit, .target, (if .met then "yes" else "NO" end)] | @tsv' "$OUT" |
  while IFS=$'\t' read -r name value unit target met; do
    value=$(awk -v v="$value" 'BEGIN{printf (v >= 100 || v <= -100) ? "%.0f" : "%.2f", v}')
    printf '%-40s %14s  %-44s %-28s %s\n' "$name" "$value" "$unit" "$target" "$met"
  done
echo
echo "machine: $(jq -r '"\(.cpu), \(.nproc) cores, load \(.loadavg_at_start), commit \(.commit)"' <<< "$MACHINE")"
echo "JSON: $OUT"
[ ${#FAILED[@]} -eq 0 ] || { echo "failed: ${FAILED[*]}" >&2; exit 1; }
