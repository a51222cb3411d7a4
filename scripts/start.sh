#!/usr/bin/env bash
# README command 1: install what is missing, build, start a node on the default
# config (config/waymark.json: TCP 127.0.0.1:7400, HTTP 127.0.0.1:7480, data in ./data).
# Extra arguments go to `waymark serve` (e.g. --clock manual).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DWAYMARK_TESTS=OFF -DWAYMARK_BENCH=OFF
exec ./build/waymark serve --config config/waymark.json "$@"
