#!/usr/bin/env python3
"""Creates and starts N instances of the benchmark diagram (each with order_id <prefix><n>) and
writes their steps (prcs_id sbfl_id step_key) to OUT for wrk.

Usage: setup_processes.py PORT TOKEN N OUT [--existing] [--prefix P] [--append]
  --existing  use the diagram named "bench" already stored (default: upload bench.bpmn)
  --prefix P  order_id prefix (default O-); a second batch with another prefix is never
              correlated by the first batch's messages
  --append    append to OUT instead of overwriting it"""
import argparse
import http.client
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("port", type=int)
parser.add_argument("token")
parser.add_argument("count", type=int)
parser.add_argument("out")
parser.add_argument("--existing", action="store_true")
parser.add_argument("--prefix", default="O-")
parser.add_argument("--append", action="store_true")
args = parser.parse_args()
local = threading.local()


def call(method, path, body=None, content_type="application/json"):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": content_type}
    payload = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    local.conn.request(method, path, body=payload, headers=headers)
    response = local.conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


if args.existing:
    dgrm = call("GET", "/v1/diagrams?name=bench")["items"][0]["dgrm_id"]
else:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.bpmn")) as f:
        xml = f.read()
    dgrm = call("POST", "/v1/admin/diagrams?status=released", xml, "text/plain")["item"]["dgrm_id"]


def one(n):
    prcs = call("POST", f"/v1/diagrams/{dgrm}/processes", {"name": f"bench {args.prefix}{n}"})
    prcs = prcs["items"][0]["prcs_id"]
    call("PUT", f"/v1/processes/{prcs}/process_vars",
         {"name": "order_id", "type": "varchar", "value": f"{args.prefix}{n}"})
    call("PUT", f"/v1/processes/{prcs}/start")
    step = call("GET", f"/v1/processes/{prcs}/steps")["items"][0]
    return prcs, step["sbfl_id"], step["step_key"]


with ThreadPoolExecutor(max_workers=16) as pool:
    rows = list(pool.map(one, range(args.count)))
with open(args.out, "a" if args.append else "w") as f:
    for prcs, sbfl, key in rows:
        f.write(f"{prcs} {sbfl} {key}\n")
