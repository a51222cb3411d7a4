#!/bin/bash
# What recording outcomes costs the headline (bench/README.md, "Outcomes recording"):
# three Release builds, run in rotating order on the headline load, one run each per round.
#
#   bench/outcomes_ab.sh ROUNDS BEFORE_BUILD BRANCH_BUILD NOREC_BUILD [OUT]
#
# BEFORE_BUILD: the commit before outcomes (git archive 75dab94 | tar -x -C DIR; cmake ...),
# BRANCH_BUILD: this tree, NOREC_BUILD: this tree with -DWAYMARK_BENCH_NO_OUTCOME_RECORDS=ON.
# Each build directory needs `waymark` and `bench/waymark-load`. Prints per-build medians and
# the median over rounds of the per-round ratios (which cancels some of a shared machine's drift).
set -euo pipefail
ROUNDS=$1
declare -A DIR=([before]=$2 [branch]=$3 [norec]=$4)
OUT=${5:-$(mktemp /tmp/outcomes-ab.XXXXXX)}
: > "$OUT"
run() {
  local d=${DIR[$1]}
  "$d/bench/waymark-load" --spawn --waymark "$d/waymark" --customers 100000 --events 300000 \
    --connections 4 --runs 1 --no-baseline 2>&1 | grep 'run 1:' | sed "s/^/$1 /" >> "$OUT"
}
orders=("before branch norec" "branch norec before" "norec before branch")
for i in $(seq 1 "$ROUNDS"); do
  for t in ${orders[$((i % 3))]}; do run "$t"; done
done
python3 - "$OUT" <<'PY'
import re, statistics as S, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\w+) run 1: ([\d,]+) events/s.*node CPU ([\d.]+)', line)
    if m:
        runs.setdefault(m.group(1), []).append((float(m.group(2).replace(',', '')), float(m.group(3))))
n = min(len(v) for v in runs.values())
for t in ("before", "branch", "norec"):
    v = runs[t]
    print("%-6s runs %2d  events/s median %7.0f (%.0f-%.0f)  node CPU µs/event median %.1f" % (
        t, len(v), S.median(x[0] for x in v), min(x[0] for x in v), max(x[0] for x in v), S.median(x[1] for x in v)))
ratio = lambda a, b: S.median(runs[a][i][0] / runs[b][i][0] for i in range(n))
print("branch/before %.3f  branch/norec %.3f  norec/before %.3f  (medians of per-round ratios, %d rounds)" % (
    ratio("branch", "before"), ratio("branch", "norec"), ratio("norec", "before"), n))
PY
echo "raw lines: $OUT"
