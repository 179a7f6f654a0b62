#!/bin/sh
# The dashboard's first paint with 10,000 jobs (docs/dashboard.md, docs/performance.md):
# the browser test's measurement at the issue's size, too slow to submit and load
# in every CI run. Prints each page load's figure; exits non-zero over 1 s.
#   bench/dashboard_first_paint.sh [BUILD_DIR] [JOBS]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
QUBE_FIRST_PAINT_JOBS=${2:-10000} QUBE_FIRST_PAINT_BUDGET_MS=1000 QBDIR=$build QUBE_BIN=$build/bin PYTHONDONTWRITEBYTECODE=1 \
  exec python3 -m pytest -q -s -rs -p no:cacheprovider "$src/tests/browser/test_dashboard.py" -k first_paint
