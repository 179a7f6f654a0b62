#!/usr/bin/env bash
# What keeping Blender alive saves: the same tiny scene (Cycles, CPU, 32x32, one
# sample) and the same N frames rendered three ways, timed from start to the last
# file written:
#   farm      qbsub --type blender through a supervisor and a 1-slot worker
#             (one instance, so one Blender for all frames), submit to complete;
#   by hand   one Blender running the blender job type's driver, fed the N
#             render commands directly (the floor the farm is measured against);
#   relaunch  one `blender -b scene -f F` per frame (what farms without kept-alive
#             applications do).
#   bench/blender_keepalive.sh [N] [BUILD_DIR]     (defaults: 20, build)
# Prints one JSON line; the target is farm_s / by_hand_s <= 1.5.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
BUILD=${2:-build}
BIN=$BUILD/bin
DRIVER=$BUILD/lib/qube/jobtypes/qube_blender_driver.py
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
BLENDER=(blender --factory-startup -noaudio)

"${BLENDER[@]}" -b --python jobtypes/blender/make_tiny_scene.py -- "$DIR/tiny.blend" > "$DIR/make.log" 2>&1

# ---- farm
"$BIN/qbsupervisor" --data "$DIR/data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 --log-level warn &
for _ in $(seq 200); do [ -s "$DIR/data/endpoints.json" ] && break; sleep 0.05; done
endpoint() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$DIR/data/endpoints.json"; }
export QB_SUPERVISOR=$(endpoint clients)
"$BIN/qbworker" --supervisor "$(endpoint workers)" --name bench --slots 1 --log-level warn &
for _ in $(seq 200); do "$BIN/qb" hosts --json | grep -q '"active"' && break; sleep 0.05; done
start=$(now)
"$BIN/qbsub" --type blender --range "1-$N" --waiton \
  --package "{scenefile: '$DIR/tiny.blend', outputpath: '$DIR/farm/f_####', format: PNG}" > "$DIR/qbsub.log" 2>&1
farm=$(elapsed "$start")
[ "$(ls "$DIR/farm" | wc -l)" -eq "$N" ] || { echo "farm wrote $(ls "$DIR/farm" | wc -l) of $N frames" >&2; exit 1; }

# ---- one Blender driven by hand
start=$(now)
{ for f in $(seq "$N"); do echo "render $f"; done; echo quit; } |
  "${BLENDER[@]}" -b "$DIR/tiny.blend" --python "$DRIVER" -- --output "$DIR/hand/f_####" --format PNG > "$DIR/hand.log" 2>&1
by_hand=$(elapsed "$start")
[ "$(ls "$DIR/hand" | wc -l)" -eq "$N" ] || { echo "by hand wrote $(ls "$DIR/hand" | wc -l) of $N frames" >&2; exit 1; }

# ---- Blender started anew for every frame
start=$(now)
for f in $(seq "$N"); do
  "${BLENDER[@]}" -b "$DIR/tiny.blend" -o "$DIR/relaunch/f_####" -F PNG -f "$f" > "$DIR/relaunch.log" 2>&1
done
relaunch=$(elapsed "$start")
[ "$(ls "$DIR/relaunch" | wc -l)" -eq "$N" ] || { echo "relaunch wrote $(ls "$DIR/relaunch" | wc -l) of $N frames" >&2; exit 1; }

awk -v n="$N" -v f="$farm" -v h="$by_hand" -v r="$relaunch" 'BEGIN{
  printf "{\"frames\": %d, \"farm_s\": %.2f, \"by_hand_s\": %.2f, \"relaunch_s\": %.2f, ", n, f, h, r
  printf "\"farm_over_by_hand\": %.2f, \"relaunch_over_farm\": %.2f, \"saved_per_frame_s\": %.3f}\n", f/h, r/f, (r-f)/n}'
