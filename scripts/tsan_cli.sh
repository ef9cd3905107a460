#!/usr/bin/env bash
# scripts/tsan_cli.sh BUILD_DIR — runs a ThreadSanitizer build of the CLI over
# the sample scenes, once cleanly and once with a broken file in the middle,
# so the pipeline's three threads are seen both finishing and stopping early.
# TSAN_OPTIONS should set exitcode=66: a race makes the run exit 66.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?build dir}/gradcam
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" explain --model models/shapes.pth --out "$out/a" examples/scenes/*.png > /dev/null
printf 'not a picture' > "$out/broken.png"
set +e
"$bin" explain --model models/shapes.pth --out "$out/b" examples/scenes/arrow.png \
  examples/scenes/star.png "$out/broken.png" examples/scenes/heart.png > /dev/null 2>&1
rc=$?
set -e
if [ $rc -ne 1 ]; then
  echo "tsan_cli: expected exit 1 for the broken file, got $rc"
  exit 1
fi
echo "tsan_cli: pipeline clean under ThreadSanitizer"
