#!/usr/bin/env python3
"""More started instances of the benchmark diagram that bench/setup_processes.py uploaded, for
the single-use loads (f) and (g) of bench/peers.sh: (e) reads over exactly the instances that
setup_processes.py made, and (f)/(g) need more than those to run for longer than a second.
Each instance gets order_id P-<n> (setup_processes.py's are O-<n>, so no message correlates
two), and its step (prcs_id sbfl_id step_key) is appended to OUT.
Usage: setup_pool.py PORT TOKEN N OUT"""
import http.client
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

port, token, count, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
local = threading.local()


def call(method, path, body=None):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local.conn.request(method, path, body=None if body is None else json.dumps(body),
                       headers=headers)
    response = local.conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


dgrm = call("GET", "/v1/diagrams?name=bench")["items"][0]["dgrm_id"]


def one(n):
    prcs = call("POST", f"/v1/diagrams/{dgrm}/processes", {"name": f"pool {n}"})["items"][0]["prcs_id"]
    call("PUT", f"/v1/processes/{prcs}/process_vars",
         {"name": "order_id", "type": "varchar", "value": f"P-{n}"})
    call("PUT", f"/v1/processes/{prcs}/start")
    step = call("GET", f"/v1/processes/{prcs}/steps")["items"][0]
    return prcs, step["sbfl_id"], step["step_key"]


with ThreadPoolExecutor(max_workers=16) as pool:
    rows = list(pool.map(one, range(count)))
with open(out, "a") as f:
    for prcs, sbfl, key in rows:
        f.write(f"{prcs} {sbfl} {key}\n")
