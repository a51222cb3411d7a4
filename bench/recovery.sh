#!/bin/bash
# Recovery time after kill -9 (bench/README.md, "Latest: the input log"): a node on the
# default config plus the given limits, the headline load (100k customers, 300k events),
# kill -9 right after the last ack, restart, and the recovery line of the node log.
# usage: bench/recovery.sh [DIR] [log_records_max] [snapshot_every]   (from the repo root, after a bench build)
D=${1:-/tmp/waymark-recovery}; MAX=${2:-200000}; EVERY=${3:-16}
ROOT=$(pwd); BUILD=${BUILD_DIR:-build}
rm -rf $D; mkdir -p $D
python3 - "$D" "$MAX" "$EVERY" "$ROOT" <<'PY'
import json,sys
c=json.load(open(sys.argv[4]+"/config/waymark.json"))
d,mx,ev=sys.argv[1],int(sys.argv[2]),int(sys.argv[3])
c['data_dir']=d+'/data'
c['journeys_dir']=d+'/journeys'
c['tcp']['listen']='127.0.0.1:0'
c['http']['listen']='127.0.0.1:0'
c['limits']['log_records_max']=mx
c['limits']['snapshot_every']=ev
for ch in c['channels'].values():
    if 'path' in ch: ch['path']=d+'/out-'+ch.get('provider','x')
json.dump(c,open(d+'/config.json','w'))
PY
mkdir -p $D/journeys
start() { $ROOT/$BUILD/waymark serve --config $D/config.json --clock manual >> $D/node.log 2>&1 & PID=$!; for i in $(seq 500); do [ -f $D/data/ready.json ] && break; sleep 0.02; done; }
start
T=$(python3 -c "import json;print(json.load(open('$D/data/ready.json'))['tcp_port'])"); H=$(python3 -c "import json;print(json.load(open('$D/data/ready.json'))['http_port'])")
$ROOT/$BUILD/bench/waymark-load --tcp-port $T --http-port $H --data-dir $D/data --customers 100000 --events 300000 --connections 4 --runs 1 --no-baseline 2>&1 | grep "^run" | cut -c1-60
stats() { python3 -c "import json,urllib.request;d=json.load(urllib.request.urlopen('http://127.0.0.1:$H/api/stats'));print('$1 known',d['customers_known'],'log_records',d['log_records'])"; }
stats "at kill:"
kill -9 $PID; wait $PID 2>/dev/null
rm -f $D/data/ready.json
S=$(date +%s.%N); start; E=$(date +%s.%N)
echo "restart to ready: $(python3 -c "print(round($E-$S,2))") s"; grep "\[recovery\]" $D/node.log
H=$(python3 -c "import json;print(json.load(open('$D/data/ready.json'))['http_port'])")
stats "after recovery:"
kill $PID; wait $PID 2>/dev/null; rm -rf $D
