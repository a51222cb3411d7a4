#!/usr/bin/env bash
# Reproduces the headline of bench/README.md in one command: configures and builds
# `waymark` and `waymark-load` when needed (Release, benches on), then
# waymark-load starts its own node per run (fresh temp data dir, manual clock,
# 3 journeys deployed over HTTP), drives 300k events over 100k customers on 4 TCP
# connections 5 times, runs the bare-loop baseline after each run, then one
# paced run at half the median max rate, and prints medians beside the targets.
#
# Usage: scripts/bench.sh [waymark-load args...]   e.g. scripts/bench.sh --runs 1 --events 200000
# Env:   BUILD_DIR (default: build), JOBS (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ] || ! grep -q "WAYMARK_BENCH:BOOL=ON" "$BUILD_DIR/CMakeCache.txt"; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DWAYMARK_BENCH=ON >/dev/null
fi
cmake --build "$BUILD_DIR" --target waymark waymark-load -j"$JOBS" >/dev/null
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/{print $2}') GB RAM"
if [ "$#" -eq 0 ]; then
  set -- --customers 100000 --events 300000 --connections 4 --runs 5 --paced-half
fi
exec "$BUILD_DIR/bench/waymark-load" --spawn "$@"
