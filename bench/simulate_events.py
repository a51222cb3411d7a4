#!/usr/bin/env python3
"""NDJSON events for `waymark simulate` figures (bench/README.md, "Simulate").

    bench/simulate_events.py EVENTS CUSTOMERS > events.ndjson

The mix of waymark-load (bench/load/waymark_load.cpp) over the journeys of
config/journeys/: event i goes to customer perm(i mod N) in round i // N;
round 0 is an identify (first_name, email, phone, push_token); later rounds, by
a hash of i (BLAKE2b): 35 % Page Viewed, 20 % Feature Used, 15 % Product Added (cart id),
10 % Order Completed (revenue), 10 % identify, 10 % Trial Started (trial id).
Timestamps rise by 10 s per event from 2026-01-01T00:00:00Z (100k events span
~11.6 days, so 1h cart waits and 2-5 day trial waits fire in between), every
event has a unique messageId. Deterministic: no randomness but the hash.
"""
import datetime
import hashlib
import json
import sys

events, customers = int(sys.argv[1]), int(sys.argv[2])
start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
perm = list(range(customers))
# a fixed shuffle (multiplicative hash order) so rounds do not visit customers in id order
perm.sort(key=lambda c: (c * 2654435761) % 4294967296)
out = sys.stdout
for i in range(events):
    c = perm[i % customers]
    rnd = i // customers
    uid = f"u{c}"
    ts = (start + datetime.timedelta(seconds=10 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {"userId": uid, "messageId": f"m{i}", "timestamp": ts}
    h = int.from_bytes(hashlib.blake2b(i.to_bytes(8, 'little'), digest_size=4).digest(), 'little') % 100
    if rnd == 0:
        e = {"type": "identify", "traits": {"first_name": f"N{c}", "email": f"{uid}@example.com",
                                            "phone": f"+49151{c:08d}", "push_token": f"tok-{uid}"}}
    elif h < 35:
        e = {"type": "track", "event": "Page Viewed", "properties": {"path": f"/p/{h}"}}
    elif h < 55:
        e = {"type": "track", "event": "Feature Used", "properties": {"feature": f"f{h % 7}"}}
    elif h < 70:
        e = {"type": "track", "event": "Product Added", "properties": {"cart_id": f"c{c}-{rnd}", "total": h}}
    elif h < 80:
        e = {"type": "track", "event": "Order Completed", "properties": {"revenue": h}}
    elif h < 90:
        e = {"type": "identify", "traits": {"plan": "trial" if h % 2 else "basic"}}
    else:
        e = {"type": "track", "event": "Trial Started", "properties": {"trial_id": f"t{c}-{rnd}"}}
    e.update(base)
    out.write(json.dumps(e, separators=(",", ":")) + "\n")
