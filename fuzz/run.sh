#!/usr/bin/env bash
# Builds the fuzz preset and runs every libFuzzer target for SECONDS each, one
# after the other, from its seed corpus (fuzz/corpus/<target>). Any crash,
# sanitizer report, leak, timeout or OOM stops the run with a non-zero exit
# and leaves the input in build-fuzz/findings/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]   the long run (default 600 s per target)
#   fuzz/run.sh --smoke                 CI: 3 s per target
#   fuzz/run.sh --runs N [TARGET...]    N executions per target, however long
#
# FUZZ_BUILD_TYPE=RelWithDebInfo builds optimised (several times more executions
# per second than the Debug default, which compiles faster for CI's smoke run).
# Inputs that found new coverage go to build-fuzz/corpus/<target> (kept between
# runs, never committed); the committed seeds are only read. Each target's
# exec count is printed at the end and added to build-fuzz/fuzz_runs.txt
# (time, target, executions, seconds), whose totals docs/security.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600
limit=()
if [ "${1:-}" = "--smoke" ]; then seconds=3; shift
elif [ "${1:-}" = "--runs" ]; then limit=(-runs="$2"); seconds=86400; shift 2
elif [ -n "${1:-}" ]; then seconds=$1; shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do t=${f#fuzz/fuzz_}; targets+=("${t%.cpp}"); done
fi

cmake --preset fuzz ${FUZZ_BUILD_TYPE:+-DCMAKE_BUILD_TYPE=$FUZZ_BUILD_TYPE} > /dev/null
cmake --build --preset fuzz --target fuzz_all

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
summary=()
for t in "${targets[@]}"; do
  bin=build-fuzz/bin/fuzz_$t
  work=build-fuzz/corpus/$t findings=build-fuzz/findings/$t
  mkdir -p "$work" "$findings"
  log=build-fuzz/fuzz_$t.log
  echo "=== fuzz_$t: ${seconds}s"
  # -timeout: one input may take 10 s (ASan, -O0) before it counts as a hang;
  # -rss_limit_mb: 2 GB, libFuzzer's default, stated so the OOM bound is visible.
  if ! "$bin" -max_total_time="$seconds" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$findings/" "$work" "fuzz/corpus/$t" > "$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz_$t FAILED: the input is in $findings/, the log in $log" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  seconds_used=${took:-$seconds}
  summary+=("$(printf '%-22s %12s runs in %ss' "fuzz_$t" "$runs" "$seconds_used")")
  # A ledger over all runs, for the totals docs/security.md records.
  printf '%s %s %s %s\n' "$(date -u +%FT%TZ)" "fuzz_$t" "$runs" "$seconds_used" >> build-fuzz/fuzz_runs.txt
done
printf '%s\n' "=== fuzz: no crash, leak or timeout" "${summary[@]}"
