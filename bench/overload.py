#!/usr/bin/env python3
"""RSS under sustained overload (issue #12 item 7; bench/README.md "Overload").

Starts its own `waymark serve` (temp data dir, manual clock, the default journeys),
then:
  1. capacity: C connections send as fast as TCP lets them for --measure-s seconds;
     the node's acked events/s is its capacity K;
  2. overload: the same connections are paced at --factor x K events/s in total for
     --duration-s seconds (they fall behind: the backlog column grows), while the
     node's RSS (VmRSS) and its unacked input (/api/stats input_unacked_bytes) are
     printed every second.
A customer always uses the same connection; each connection pre-encodes 64
blocks of 200 lines (12,800 events, no messageIds) and sends them in turn, so
the client spends little CPU. Acks are read (and counted) by one reader thread
per connection; nacks or fatal lines abort the run.

usage: bench/overload.py [--bin build/waymark] [--connections 8] [--factor 3]
                         [--duration-s 60] [--set limits.node_unacked_bytes_max=N ...]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/waymark")
ap.add_argument("--journeys", default="config/journeys")
ap.add_argument("--connections", type=int, default=8)
ap.add_argument("--customers", type=int, default=100000)
ap.add_argument("--factor", type=float, default=3.0)
ap.add_argument("--measure-s", type=float, default=10)
ap.add_argument("--duration-s", type=float, default=60)
ap.add_argument("--set", action="append", default=[], help="section.key=value (JSON value)")
args = ap.parse_args()

root = tempfile.mkdtemp(prefix="waymark-overload-")
cfg = {"data_dir": root + "/data", "journeys_dir": root + "/journeys", "log_level": "warn",
       "tcp": {"listen": "127.0.0.1:0"}, "http": {"listen": "127.0.0.1:0"},
       "cluster": {"listen": "127.0.0.1:0"},
       "channels": {c: {"provider": "file", "path": root + "/out-" + c}
                    for c in ("email", "sms", "push", "webhook", "inapp")}}
for kv in args.set:
    key, value = kv.split("=", 1)
    section, name = key.split(".", 1)
    cfg.setdefault(section, {})[name] = json.loads(value)
shutil.copytree(args.journeys, root + "/journeys")
os.makedirs(root + "/data")
json.dump(cfg, open(root + "/config.json", "w"))
node = subprocess.Popen([args.bin, "serve", "--config", root + "/config.json", "--clock", "manual"],
                        stdout=open(root + "/node.log", "w"), stderr=subprocess.STDOUT)
for _ in range(500):
    if os.path.exists(root + "/data/ready.json"):
        break
    time.sleep(0.02)
time.sleep(0.1)
ready = json.load(open(root + "/data/ready.json"))
TCP, HTTP = ready["tcp_port"], ready["http_port"]


def stats():
    with urllib.request.urlopen("http://127.0.0.1:%d/api/stats" % HTTP, timeout=10) as r:
        return json.load(r)


def rss_mb():
    for line in open("/proc/%d/status" % node.pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def line(i):
    c = i % args.customers
    kind = (i * 2654435761) % 10
    if i < args.customers or kind == 0:
        return {"type": "identify", "userId": "u%d" % c,
                "traits": {"plan": "pro" if kind < 5 else "free", "email": "u%d@example.com" % c}}
    names = ["Page Viewed", "Page Viewed", "Page Viewed", "Feature Used", "Feature Used",
             "Product Added", "Order Completed", "Trial Started", "Page Viewed"]
    return {"type": "track", "userId": "u%d" % c, "event": names[kind - 1],
            "properties": {"n": i, "cartId": "cart-%d" % (c % 1000)}}


class Conn:
    BLOCK = 200  # lines per send
    RING = 64    # blocks pre-encoded per connection, then sent again in turn (no messageIds: no dedup)

    def __init__(self, k):
        self.k = k
        self.sock = socket.create_connection(("127.0.0.1", TCP))
        self.sent = 0      # lines written
        self.acked = 0
        self.next_i = k    # event index; a customer always lands on the same connection
        self.error = None
        self.ring = [self.make_block() for _ in range(self.RING)]
        self.turn = 0
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        while True:
            try:
                d = self.sock.recv(1 << 16)
            except OSError:
                return
            if not d:
                return
            buf += d
            *lines, buf = buf.split(b"\n")
            for l in lines:
                o = json.loads(l)
                if "ack" in o:
                    self.acked = o["ack"]
                else:
                    self.error = l.decode()

    def block(self):
        self.turn += 1
        return self.ring[self.turn % self.RING]

    def make_block(self):
        out = []
        for _ in range(self.BLOCK):
            out.append(json.dumps(line(self.next_i)))
            self.next_i += args.connections
        return ("\n".join(out) + "\n").encode()

    def send_until(self, stop, quota):
        """Sends blocks until stop() or while quota() (lines allowed so far) is ahead."""
        data = self.block()
        while not stop():
            if quota is not None and self.sent + self.BLOCK > quota():
                time.sleep(0.001)
                continue
            self.sock.sendall(data)
            self.sent += self.BLOCK
            data = self.block()




def run_phase(seconds, rate, label):
    start = time.time()
    acked0 = sum(c.acked for c in conns)
    stop = lambda: time.time() - start > seconds
    per_conn = None if rate is None else (lambda base: lambda: base + (time.time() - start) * rate / args.connections)
    threads = [threading.Thread(target=c.send_until, args=(stop, None if per_conn is None else per_conn(c.sent)),
                                daemon=True) for c in conns]
    for t in threads:
        t.start()
    samples = []
    sent0 = sum(c.sent for c in conns)
    while time.time() - start < seconds:
        time.sleep(1)
        el = time.time() - start
        s = stats()
        acked = sum(c.acked for c in conns)
        sent = sum(c.sent for c in conns)
        backlog = 0 if rate is None else max(0, int(el * rate) - (sent - sent0))
        rss = rss_mb()
        samples.append((el, rss, acked - acked0))
        print("%-9s t=%5.1f s  rss=%7.1f MB  acked=%9d  acked/s=%8.0f  unacked_input=%6.1f MB  backlog=%9d  live=%d"
              % (label, el, rss, acked, (acked - acked0) / el, s["input_unacked_bytes"] / 1048576, backlog,
                 s["customers_live"]), flush=True)
        for c in conns:
            if c.error:
                sys.exit("server line: " + c.error)
    for t in threads:
        t.join(timeout=30)
    return samples


try:  # the node is stopped however the run ends
    conns = [Conn(k) for k in range(args.connections)]
    cap = run_phase(args.measure_s, None, "capacity")
    K = cap[-1][2] / cap[-1][0]
    print("capacity: %.0f events/s; overload: %.0f events/s offered (%.1fx)" % (K, K * args.factor, args.factor))
    over = run_phase(args.duration_s, K * args.factor, "overload")
    rss = [r for _, r, _ in over]
    third = max(1, len(rss) // 3)
    print("RSS MB: first third median %.1f, last third median %.1f, max %.1f; acked/s under overload %.0f"
          % (statistics.median(rss[:third]), statistics.median(rss[-third:]), max(rss), over[-1][2] / over[-1][0]))
finally:
    node.send_signal(signal.SIGTERM)
    try:
        node.wait(timeout=30)
    except subprocess.TimeoutExpired:
        node.kill()
    shutil.rmtree(root, ignore_errors=True)
