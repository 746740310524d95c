#!/usr/bin/env python3
"""Reads the raw wrk outputs of bench/peers.sh and prints figures (standard library only).

  report.py line RESULTS TARGET KEY   one load's medians, as the run goes
  report.py table RESULTS             the whole table and the flowgate/peer ratios, also
                                      written to RESULTS/table.md

For single-use loads (consume.lua) req/s is the rate of 2xx answers over the time the work
lasted, as consume.lua prints it, not wrk's figure over its whole duration. A load's figures
are the medians of its runs (req/s, p50, p99, each on its own); non-2xx and
socket errors are summed over the runs (the warm-up is not counted). Memory: idle RSS after
start-up, before any load; peak RSS the largest summed VmRSS sampled during the load (its
warm-up and, for single-use loads, its preparation included).
"""
import os
import re
import statistics
import sys

TARGETS = {
    "flowgate-sqlite": "flowgate, SQLite",
    "flowgate-pg": "flowgate, PostgreSQL",
    "node-oidc-provider": "node-oidc-provider",
    "dot-hashed": "django-oauth-toolkit, hashed secret",
    "dot-plain": "django-oauth-toolkit, plain secret",
    "ceiling": "poem ceiling",
}
FLOWGATES = ["flowgate-sqlite", "flowgate-pg"]
RATIO_LOADS = ["a", "b", "c"]


def seconds(text):
    """wrk's 1.23us / 4.56ms / 7.89s / 1.02m as seconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def parse(path):
    """One wrk output: req/s, p50 and p99 (s), requests, non-2xx, socket errors."""
    text = open(path).read()
    out = {"rps": None, "p50": None, "p99": None, "requests": 0, "non2xx": 0, "errors": 0,
           "span": None}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        out["rps"] = float(m.group(1))
    if m := re.search(r"Single-use 2xx/sec:\s+([\d.]+)", text):
        out["rps"] = float(m.group(1))
    if m := re.search(r"Single-use: \d+ answered 2xx in ([\d.]+)s", text):
        out["span"] = float(m.group(1))
    if m := re.search(r"^\s*50%\s+(\S+)", text, re.M):
        out["p50"] = seconds(m.group(1))
    if m := re.search(r"^\s*99%\s+(\S+)", text, re.M):
        out["p99"] = seconds(m.group(1))
    if m := re.search(r"(\d+) requests in", text):
        out["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        out["non2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        out["errors"] = sum(int(x) for x in m.groups())
    return out


def kib(path):
    try:
        return int(open(path).read().strip() or 0)
    except (OSError, ValueError):
        return None


def figures(results, target, key):
    folder = os.path.join(results, "raw", target)
    runs = []
    n = 1
    while os.path.exists(os.path.join(folder, f"{key}.{n}.txt")):
        runs.append(parse(os.path.join(folder, f"{key}.{n}.txt")))
        n += 1

    def median(name):
        values = [r[name] for r in runs if r[name] is not None]
        return statistics.median(values) if values else None

    return {
        "runs": len(runs),
        "rps": median("rps"),
        "p50": median("p50"),
        "p99": median("p99"),
        "span": median("span"),
        "non2xx": sum(r["non2xx"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "idle": kib(os.path.join(folder, "idle_rss")),
        "peak": kib(os.path.join(folder, f"{key}.peak")),
        "hwm": kib(os.path.join(folder, "hwm")),
    }


def ms(value):
    if value is None:
        return "–"
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"


def mib(value):
    return "–" if value is None else f"{value / 1024:.1f}"


def rate(value):
    return "–" if value is None else f"{value:,.0f}"


def loads(results):
    rows = []
    with open(os.path.join(results, "loads.tsv")) as f:
        for line in f:
            target, key, label, note = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
            rows.append((target, key, label, note))
    # Each target's loads in the order of their keys, whichever ran first ((b) and (d) alternate).
    first = {target: at for at, (target, *_) in reversed(list(enumerate(rows)))}
    return sorted(rows, key=lambda row: (first[row[0]], row[1]))


def line(results, target, key):
    f = figures(results, target, key)
    flag = ""
    if f["non2xx"]:
        flag += f"  non-2xx {f['non2xx']}"
    if f["errors"]:
        flag += f"  socket errors {f['errors']}"
    if f["span"] is not None:
        flag += f"  (work lasted {f['span']:.1f} s)"
    print(f"    ({key}) {rate(f['rps']):>9} req/s  p50 {ms(f['p50']):>9}  p99 {ms(f['p99']):>9}"
          f"  peak {mib(f['peak'])} MiB{flag}", flush=True)


def table(results):
    rows = loads(results)
    out = ["| target | load | req/s | p50 | p99 | non-2xx | socket errors | idle RSS MiB "
           "| peak RSS MiB | note |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    seen = {}
    for target, key, label, note in rows:
        f = figures(results, target, key)
        seen[(target, key)] = f
        if not f["runs"]:
            out.append(f"| {TARGETS.get(target, target)} | ({key}) {label} | n/a | | | | | "
                       f"{mib(f['idle'])} | | {note} |")
            continue
        if f["span"] is not None:
            note = (note + "; " if note else "") + f"work lasted {f['span']:.1f} s (median)"
        if f["non2xx"] and key in "fghi":
            note = (note + "; " if note else "") + "INVALID: non-2xx answers"
        out.append(f"| {TARGETS.get(target, target)} | ({key}) {label} | {rate(f['rps'])} | "
                   f"{ms(f['p50'])} | {ms(f['p99'])} | {f['non2xx']} | {f['errors']} | "
                   f"{mib(f['idle'])} | {mib(f['peak'])} | {note} |")
    out += ["", "Ratios of req/s, flowgate / peer (medians; n/a where the peer has no such load):",
            "", "| flowgate on | peer | (a) token | (b) protected GET | (c) introspection |"
            " (d) bare GET |", "|---|---|---:|---:|---:|---:|"]
    peers = [t for t in TARGETS if t not in FLOWGATES and any(r[0] == t for r in rows)]
    for flowgate in FLOWGATES:
        if not any(r[0] == flowgate for r in rows):
            continue
        for peer in peers:
            cells = []
            for key in RATIO_LOADS + ["d"]:
                ours, theirs = seen.get((flowgate, key)), seen.get((peer, key))
                if ours and theirs and ours["rps"] and theirs["rps"]:
                    cells.append(f"{ours['rps'] / theirs['rps']:.2f}")
                else:
                    cells.append("n/a")
            out.append(f"| {TARGETS[flowgate]} | {TARGETS[peer]} | " + " | ".join(cells) + " |")
    own = [f"{TARGETS[t]} {b['rps'] / d['rps']:.3f}" for t in FLOWGATES
           if (b := seen.get((t, "b"))) and (d := seen.get((t, "d"))) and b["rps"] and d["rps"]]
    if own:
        out += ["", "flowgate's gated GET against its ungated one, (b)/(d) (their runs alternate): "
                + "; ".join(own) + "."]
    hwm = [f"{TARGETS.get(t, t)} {mib(seen_hwm)} MiB" for t in dict.fromkeys(r[0] for r in rows)
           if (seen_hwm := kib(os.path.join(results, "raw", t, "hwm"))) is not None]
    out += ["", "VmHWM at the end of each target's runs (its high-water mark since start-up): "
            + "; ".join(hwm) + "."]
    text = "\n".join(out) + "\n"
    with open(os.path.join(results, "table.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "line":
        line(*sys.argv[2:5])
    elif command == "table":
        table(sys.argv[2])
    else:
        raise SystemExit(__doc__)
