#!/usr/bin/env python3
"""Creates and starts N instances of the benchmark diagram (each with order_id O-<n>) and
writes their steps (sbfl_id step_key) to a file for wrk. Usage: setup_processes.py PORT TOKEN N OUT"""
import http.client
import json
import sys
from concurrent.futures import ThreadPoolExecutor
import threading

port, token, count, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
local = threading.local()


def call(method, path, body=None, content_type="application/json"):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    payload = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    local.conn.request(method, path, body=payload, headers=headers)
    response = local.conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


with open(sys.argv[0].replace("setup_processes.py", "bench.bpmn")) as f:
    xml = f.read()
dgrm = call("POST", "/v1/admin/diagrams?status=released", xml, "text/plain")["item"]["dgrm_id"]


def one(n):
    prcs = call("POST", f"/v1/diagrams/{dgrm}/processes", {"name": f"bench {n}"})["items"][0]["prcs_id"]
    call("PUT", f"/v1/processes/{prcs}/process_vars", {"name": "order_id", "type": "varchar", "value": f"O-{n}"})
    call("PUT", f"/v1/processes/{prcs}/start")
    step = call("GET", f"/v1/processes/{prcs}/steps")["items"][0]
    return prcs, step["sbfl_id"], step["step_key"]


with ThreadPoolExecutor(max_workers=16) as pool:
    rows = list(pool.map(one, range(count)))
with open(out, "w") as f:
    for prcs, sbfl, key in rows:
        f.write(f"{prcs} {sbfl} {key}\n")
