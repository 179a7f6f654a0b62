#!/usr/bin/env bash
# Sets up, builds and runs every test: the normal build, then the ASan+UBSan
# build, then a few seconds of each fuzz target (fuzz/run.sh --smoke). This is
# what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for preset in default asan; do
  echo "=== $preset: configure and build"
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset"
  echo "=== $preset: test"
  ctest --preset "$preset"
done
echo "=== fuzz: smoke run"
fuzz/run.sh --smoke
