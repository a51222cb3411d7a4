#!/usr/bin/env bash
# A 3-member Waymark cluster on this machine (PRODUCT.md §9), for trying it out:
# member i (1..3) listens on TCP 127.0.0.1:741i, HTTP 127.0.0.1:748i, cluster
# 127.0.0.1:744i, keeps its data in <dir>/node<i> and logs to <dir>/node<i>.log.
#   bash scripts/cluster-local.sh start [DIR] [-- waymark serve args, e.g. --clock manual]
#   bash scripts/cluster-local.sh stop [DIR]
# It uses ./build/waymark (build it first: bash scripts/build.sh). On loopback no
# secret or TLS is needed; off loopback every member needs cluster.secret and
# cluster.tls (config/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-start}
dir=${2:-/tmp/waymark-cluster}
shift $(( $# >= 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
case "$cmd" in
  start)
    mkdir -p "$dir"
    for i in 1 2 3; do
      peers=""
      for j in 1 2 3; do [ "$j" = "$i" ] || peers="$peers${peers:+,}\"127.0.0.1:744$j\""; done
      cat > "$dir/node$i.json" <<CFG
{
  "node": {"id": "n$i"},
  "data_dir": "$dir/node$i",
  "journeys_dir": "config/journeys",
  "tcp": {"listen": "127.0.0.1:741$i"},
  "http": {"listen": "127.0.0.1:748$i"},
  "cluster": {"listen": "127.0.0.1:744$i", "peers": [$peers], "partitions": 256}
}
CFG
      nohup ./build/waymark serve --config "$dir/node$i.json" "$@" > "$dir/node$i.log" 2>&1 &
      echo $! > "$dir/node$i.pid"
    done
    for i in 1 2 3; do
      for _ in $(seq 1 100); do [ -f "$dir/node$i/ready.json" ] && break; sleep 0.1; done
      [ -f "$dir/node$i/ready.json" ] || { echo "node$i did not start: see $dir/node$i.log"; exit 1; }
    done
    echo "3 members: HTTP 127.0.0.1:7481-7483, TCP 127.0.0.1:7411-7413 (logs and data in $dir)"
    ;;
  stop)
    for i in 1 2 3; do
      [ -f "$dir/node$i.pid" ] && kill "$(cat "$dir/node$i.pid")" 2>/dev/null || true
      rm -f "$dir/node$i.pid"
    done
    ;;
  *) echo "usage: $0 start|stop [DIR] [-- serve args]"; exit 2 ;;
esac
