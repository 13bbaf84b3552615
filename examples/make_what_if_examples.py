#!/usr/bin/env python3
"""Writes the what-if example traces (docs/trace-format.md, "What-if replay").

Each is a list of input lines; the replay fills in the outputs, and the embedder's
transport_closed for every close the core asked for is added 50 ms later, then replayed again.

  python3 examples/make_what_if_examples.py bazel-bin/trace/replay
"""
import json
import subprocess
import sys

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def peer(name):
    import hashlib
    raw = bytes([0x12, 0x20]) + hashlib.sha256(name.encode()).digest()
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return out


def replay(replay_bin, lines):
    text = "\n".join(json.dumps(l, separators=(",", ":")) for l in lines) + "\n"
    return subprocess.run([replay_bin, "/dev/stdin"], input=text, capture_output=True,
                          text=True, check=True).stdout


def with_closes(replay_bin, header, inputs):
    out = replay(replay_bin, [header] + inputs)
    closes = []
    for line in out.splitlines():
        o = json.loads(line)
        if o.get("out") == "close_connection":
            closes.append({"t": o["t"] + 50_000_000, "in": "transport_closed", "conn": o["conn"]})
    merged = sorted(inputs + closes, key=lambda l: l["t"])  # stable: inputs first at a tie
    return replay(replay_bin, [header] + merged)


def inbound(t, ip, conn_peer, port=4001):
    return [
        {"t": t, "in": "inbound_connection", "remote": f"/ip4/{ip}/tcp/{port}",
         "local": "/ip4/192.0.2.1/tcp/4001"},
    ], {"t": t + 100_000_000, "in": "connection_upgraded", "peer": peer(conn_peer)}


def build(replay_bin, header, arrivals, extra):
    # arrivals: (t, ip, peer name); connection ids are given in order of arrival.
    inputs = list(extra)
    for i, (t, ip, name) in enumerate(arrivals):
        first, upgraded = inbound(t, ip, name)
        upgraded["conn"] = i + 1
        inputs += first + [upgraded]
    inputs.sort(key=lambda l: l["t"])
    return with_closes(replay_bin, header, inputs)


def main():
    replay_bin = sys.argv[1]
    s = 1_000_000_000
    # 1. Keep-alive peers pruned: scored peers outrank them, and trims start at 6 open.
    header = {"connmgr_trace": 1,
              "config": {"max_connections": 8, "high_watermark": 6, "low_watermark": 4}}
    extra = []
    for k in range(3):
        extra.append({"t": 0, "in": "set_peer_tag", "peer": peer(f"ka{k}"),
                      "tag": "keep-alive-bootstrap", "value": 0})
    arrivals = []
    for k in range(3):
        arrivals.append((s + k * s // 10, f"203.0.113.{10 + k}", f"ka{k}"))
    for i in range(9):
        name = f"scored{i}"
        extra.append({"t": 0, "in": "set_peer_tag", "peer": peer(name), "tag": "score",
                      "value": 10})
        arrivals.append((2 * s + i * s, f"198.18.{i}.1", name))
    with open("examples/what-if-keep-alive.jsonl", "w") as f:
        f.write(build(replay_bin, header, arrivals, extra))
    # 2. A flood from 198.51.100.0/24 at 12:03 (43380 s) against a node with honest peers.
    header = {"connmgr_trace": 1,
              "config": {"max_connections": 20, "high_watermark": 16, "low_watermark": 12,
                         "inbound_rate_per_ip": {"count": 50, "interval": "1s", "burst": 50}}}
    t0 = 43_200 * s  # 12:00
    arrivals = [(t0 + i * s, f"203.0.113.{i + 1}", f"honest{i}") for i in range(10)]
    for i in range(60):  # 12:03:00 to 12:03:06, 10 per second
        arrivals.append((t0 + 180 * s + i * s // 10, f"198.51.100.{i % 40 + 1}", f"flood{i}"))
    with open("examples/what-if-flood.jsonl", "w") as f:
        f.write(build(replay_bin, header, arrivals, []))


if __name__ == "__main__":
    main()
