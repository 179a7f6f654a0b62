#!/usr/bin/env bash
# Sets up, builds and runs every test: the normal build (preset ci: the default
# build with line tables only, which compiles a quarter faster), then the ASan+UBSan
# build, then a few seconds of each fuzz target (fuzz/run.sh --smoke), then, as
# root, the .deb packages made from the first build, installed with dpkg -i, run
# and purged (packaging/test-debs.sh; skipped when not root). This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for preset in ci asan; do
  echo "=== $preset: configure and build"
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset"
  echo "=== $preset: test"
  ctest --preset "$preset"
done
echo "=== fuzz: smoke run"
fuzz/run.sh --smoke
echo "=== packages: build, dpkg -i, run a job, purge"
status=0
packaging/test-debs.sh build-ci || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 77 ] || exit "$status"
