#!/usr/bin/env bash
# The plugin guide's example job type, as a studio would build and use it:
# install Qube into a fresh prefix, build examples/jobtype-hello out of tree
# against it (find_package(Qube)), install the plugin and its YAML file into that
# prefix, start the prefix's supervisor and one worker, run a 3-frame hello job,
# and check its files and that one application process wrote them all.
#   tests/integration/sdk_example.sh BUILD_DIR EXAMPLE_DIR      (ctest: sdk_example_plugin)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
EXAMPLE=$(cd "$2" && pwd)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/qube-sdk-example-XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "sdk_example: $*" >&2; for f in "$DIR"/*.log; do echo "---- $f" >&2; tail -30 "$f" >&2; done; exit 1; }
# Polls a condition until it holds or `seconds` pass.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}

PREFIX=$DIR/prefix
cmake --install "$BUILD" --prefix "$PREFIX" > "$DIR/install.log" || fail "cmake --install failed"
# The example's own flags only: a studio's build knows nothing of Qube's.
env -u CXXFLAGS cmake -S "$EXAMPLE" -B "$DIR/build" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release \
  > "$DIR/configure.log" 2>&1 || fail "configuring the example failed"
cmake --build "$DIR/build" > "$DIR/build.log" 2>&1 || fail "building the example failed"
cmake --install "$DIR/build" > "$DIR/install-example.log" 2>&1 || fail "installing the example failed"
[ -f "$PREFIX/lib/qube/jobtypes/libqube_jobtype_hello.so" ] || fail "the example did not install into the Qube prefix"
[ -f "$PREFIX/etc/qube/jobtypes/hello.yaml" ] || fail "hello.yaml was not installed"

BIN=$PREFIX/bin
"$BIN/qbsupervisor" --data "$DIR/data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 > "$DIR/supervisor.log" 2>&1 &
PIDS+=($!)
wait_for 30 test -s "$DIR/data/endpoints.json" || fail "the supervisor wrote no endpoints"
endpoint() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$DIR/data/endpoints.json"; }
export QB_SUPERVISOR=$(endpoint clients)
"$BIN/qbworker" --supervisor "$(endpoint workers)" --name example --slots 1 > "$DIR/worker.log" 2>&1 &
PIDS+=($!)
offers_hello() { "$BIN/qb" hosts --json 2>/dev/null | grep -q '"active"'; }
wait_for 30 offers_hello || fail "the worker did not register"

OUT=$DIR/out
timeout 60 "$BIN/qbsub" --type hello --range 1-3 --waiton \
  --package "{greeting: bonjour, outdir: '$OUT'}" > "$DIR/qbsub.log" 2>&1 || fail "the hello job did not complete"
pids=()
for f in 1 2 3; do
  read -r word frame pid < "$OUT/hello.$f.txt" || fail "frame $f wrote no file"
  [ "$word $frame" = "bonjour $f" ] || fail "frame $f wrote '$word $frame'"
  pids+=("$pid")
done
[ "${pids[0]}" = "${pids[1]}" ] && [ "${pids[1]}" = "${pids[2]}" ] || fail "frames came from several shells: ${pids[*]}"
id=$(head -1 "$DIR/qbsub.log")
"$BIN/qb" show "$id" --json > "$DIR/show.log" 2>&1 || fail "qb show failed"
grep -q "\"$OUT/hello.2.txt\"" "$DIR/show.log" || fail "item outputs are not in the resultpackage"
echo "sdk_example: ok (one shell, pid ${pids[0]}, wrote 3 frames)"
