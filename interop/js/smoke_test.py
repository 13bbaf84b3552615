#!/usr/bin/env python3
"""Smoke test of the js-libp2p interop peer: two peers on loopback.

Runs setup.sh, starts peer A (--seed 1) and peer B (--seed 2), has B dial A,
ping it, open an echo stream, list connections, hang up; then peer C
(--seed 3 --keep-alive A) connects to A, A hangs up C, and C must redial.
Then the same over QUIC: peer D (--seed 4) listens on /udp/0/quic-v1, B dials
it there, they identify and ping each other, B opens an echo stream, D hangs
up and both see the disconnect.
Prints a transcript (">" = command sent, "<" = line received) and exits
non-zero if an expected reply or event is missing. Standard library only.

usage: python3 interop/js/smoke_test.py
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEED1 = "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"
SEED2 = "12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3"
SEED4 = "12D3KooWLJtG8fd2hkQzTn96MrLvThmnNQjTUFZwGEsLRz5EmSzc"
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:6.3f}] {msg}", flush=True)


class Peer:
    def __init__(self, name, runner, args):
        self.name = name
        self.lines = queue.Queue()
        self.seen = []
        self.proc = subprocess.Popen([runner, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, cmd):
        log(f"{self.name} > {cmd}")
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def expect(self, pred, what, timeout=10.0):
        for msg in self.seen:
            if pred(msg):
                self.seen.remove(msg)
                return msg
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"FAIL: {self.name}: timed out waiting for {what}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise SystemExit(f"FAIL: {self.name}: exited while waiting for {what}")
            log(f"{self.name} < {line}")
            msg = json.loads(line)
            if pred(msg):
                return msg
            self.seen.append(msg)

    def event(self, name, timeout=10.0, **kv):
        return self.expect(lambda m: m.get("event") == name and all(m.get(k) == v for k, v in kv.items()),
                           f"event {name} {kv}", timeout)

    def call(self, cmd, ok=True):
        self.send(cmd)
        verb = cmd.split()[0]
        msg = self.expect(lambda m: m.get("reply") == verb, f"reply to {cmd}")
        if msg["ok"] != ok:
            raise SystemExit(f"FAIL: {self.name}: {cmd} -> {msg}")
        return msg


def setup():
    for i in (1, 2):
        t = time.monotonic()
        out = subprocess.run([os.path.join(HERE, "setup.sh")], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        runner = out.strip().splitlines()[-1]
        log(f"setup.sh run {i}: {time.monotonic() - t:.2f} s -> {runner}")
    return runner


def quic_case(runner, b):
    """B (listening on TCP only) dials D over QUIC; returns D."""
    d = Peer("D", runner, ["--seed", "4", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1"])
    rd = d.event("ready", peer=SEED4)
    assert "quic" in rd["transports"], rd
    addr = rd["addrs"][0]
    assert "/udp/" in addr and "/quic-v1/p2p/" in addr, rd

    r = b.call(f"dial {addr}")
    assert r["peer"] == SEED4 and r["remote"] == addr, r
    b.event("connect", peer=SEED4, direction="outbound", remote=addr)
    inbound = d.event("connect", peer=SEED2, direction="inbound")
    assert "/quic-v1/p2p/" in inbound["remote"], inbound
    ib = b.event("identify", peer=SEED4)
    assert ib["listen"] == [addr.rsplit("/p2p/", 1)[0]], ib
    d.event("identify", peer=SEED2)

    b.call(f"ping {SEED4}")
    d.call(f"ping {SEED2}")
    s = b.call(f"open-stream {SEED4} /connmgr/echo/1.0.0")
    c = d.call("connections")
    assert [x["streams"] for x in c["connections"]] == [["/connmgr/echo/1.0.0"]], c
    b.call(f"close-stream {s['stream']}")

    d.call(f"hangup {SEED2}")
    d.event("disconnect", peer=SEED2)
    b.event("disconnect", peer=SEED4, remote=addr)
    c = b.call("connections")
    assert all(x["peer"] != SEED4 for x in c["connections"]), c
    return d


def main():
    runner = setup()
    a = Peer("A", runner, ["--seed", "1", "--listen", "/ip4/127.0.0.1/tcp/0"])
    b = Peer("B", runner, ["--seed", "2", "--listen", "/ip4/127.0.0.1/tcp/0"])
    ra = a.event("ready", peer=SEED1)
    b.event("ready", peer=SEED2)
    addr = ra["addrs"][0]

    r = b.call(f"dial {addr}")
    assert r["peer"] == SEED1, r
    b.event("connect", peer=SEED1, direction="outbound")
    a.event("connect", peer=SEED2, direction="inbound")
    ib = b.event("identify", peer=SEED1)
    ia = a.event("identify", peer=SEED2)
    for i in (ia, ib):
        assert "/ipfs/ping/1.0.0" in i["protocols"] and "/connmgr/echo/1.0.0" in i["protocols"], i

    r = b.call(f"ping {SEED1}")
    assert r["rtt"] >= 0, r
    a.call(f"ping {SEED2}")
    s = b.call(f"open-stream {SEED1} /connmgr/echo/1.0.0")
    c = b.call("connections")
    assert len(c["connections"]) == 1 and "/connmgr/echo/1.0.0" in c["connections"][0]["streams"], c
    b.call(f"close-stream {s['stream']}")
    a.call("connections")
    b.call("dial /ip4/127.0.0.1/tcp/1", ok=False)
    b.call("bogus", ok=False)

    b.call(f"hangup {SEED1}")
    b.event("disconnect", peer=SEED1)
    a.event("disconnect", peer=SEED2)
    c = a.call("connections")
    assert c["connections"] == [], c

    # --keep-alive: C dials A at start and redials it after A hangs up.
    c = Peer("C", runner, ["--seed", "3", "--keep-alive", addr])
    c.event("ready")
    c.event("connect", peer=SEED1)
    sc = a.event("connect", direction="inbound")["peer"]
    a.call(f"hangup {sc}")
    c.event("disconnect", peer=SEED1)
    c.event("connect", peer=SEED1, timeout=15)
    a.event("connect", peer=sc)

    d = quic_case(runner, b)

    for p in (a, b, c, d):
        p.call("stop")
        rc = p.proc.wait(timeout=10)
        log(f"{p.name} exited {rc}")
        assert rc == 0
    log("PASS")


if __name__ == "__main__":
    main()
