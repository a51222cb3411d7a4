#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, build everything once,
# run every test. Long soak/load runs are not here: see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DWAYMARK_TESTS=ON -DWAYMARK_BENCH=ON
if [ -f tests/integration/segment/package.json ]; then
  # The real @segment/analytics-node client used by the ingest tests.
  (cd tests/integration/segment && npm install --no-audit --no-fund --loglevel=error) ||
    echo "test.sh: npm install failed; the Segment client test will report itself skipped"
fi
if [ -f tests/console/package-lock.json ]; then
  # playwright-core (no browser download: it drives Debian's /usr/bin/chromium)
  # for the web console's browser test.
  (cd tests/console && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "test.sh: npm ci failed; the console browser test will report itself skipped"
fi
cd build
ctest --output-on-failure -j2 --timeout 300
