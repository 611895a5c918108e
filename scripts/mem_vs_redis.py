#!/usr/bin/env python3
"""Side-by-side memory of one data-type workload in redis-server and sabaody-server.

Starts both servers on free loopback ports (no persistence), reads each one's RSS
(VmRSS from /proc/PID/status), loads the same data into both over pipelined RESP, reads RSS
again and prints the growth per element and the ratio (sabaody / redis; <= 1.0 means Sabaody
uses no more memory than redis-server).

    scripts/mem_vs_redis.py set zset hash list          # all four workloads
    scripts/mem_vs_redis.py --n 100000 zset             # a smaller sorted set

Workloads (N defaults to the figures the issues ask for):
    set    one set of N = 1,000,000 members of 16 bytes ("member:000000001")
    zset   one sorted set of N = 1,000,000 members of 16 bytes, distinct float scores
    hash   N = 100,000 hashes of 10 fields each (field "f0".."f9", value "v" + 7 digits)
    list   one list of N = 1,000,000 elements of 16 bytes ("element:00000001")

Each workload runs against fresh servers. Needs redis-server (Debian: redis-server) and a
sabaody-server binary (default: target/release/sabaody-server; build it with
`cargo build --release -p sabaody-server`). Python standard library only.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULT_N = {"set": 1_000_000, "zset": 1_000_000, "hash": 100_000, "list": 1_000_000}
# Elements per workload item (bytes per element are reported per member/field/element).
PER_ITEM = {"set": 1, "zset": 1, "hash": 10, "list": 1}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    def __init__(self, port):
        deadline = time.time() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""

    def _read_reply(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        kind = line[:1]
        if kind == b"-":
            raise RuntimeError("error reply: " + line.decode(errors="replace"))
        if kind == b"$":
            n = int(line[1:])
            if n >= 0:
                while len(self.buf) < n + 2:
                    self.buf += self.sock.recv(1 << 20)
                data, self.buf = self.buf[:n], self.buf[n + 2 :]
                return data
            return None
        if kind == b"*":
            return [self._read_reply() for _ in range(int(line[1:]))]
        return line[1:]

    def pipeline(self, commands):
        """Sends commands in batches of 1,000 and checks every reply (errors raise)."""
        for i in range(0, len(commands), 1000):
            batch = commands[i : i + 1000]
            self.sock.sendall(b"".join(encode(c) for c in batch))
            for _ in batch:
                self._read_reply()

    def call(self, *args):
        self.sock.sendall(encode(args))
        return self._read_reply()


def commands(workload, n):
    if workload == "set":
        # 100 members per SADD.
        return [
            ["SADD", "s"] + ["member:%09d" % j for j in range(i, min(i + 100, n))]
            for i in range(0, n, 100)
        ]
    if workload == "zset":
        cmds = []
        for i in range(0, n, 100):
            args = ["ZADD", "z"]
            for j in range(i, min(i + 100, n)):
                args += [repr(j * 1.5 + 0.25), "member:%09d" % j]
            cmds.append(args)
        return cmds
    if workload == "hash":
        return [
            ["HSET", "h:%07d" % i] + [x for f in range(10) for x in ("f%d" % f, "v%07d" % i)]
            for i in range(n)
        ]
    if workload == "list":
        return [
            ["RPUSH", "l"] + ["element:%08d" % j for j in range(i, min(i + 100, n))]
            for i in range(0, n, 100)
        ]
    raise ValueError(workload)


def check(workload, client, n):
    """Confirms the data arrived, so a silent failure cannot pass for low memory."""
    if workload == "set":
        got = int(client.call("SCARD", "s"))
    elif workload == "zset":
        got = int(client.call("ZCARD", "z"))
    elif workload == "hash":
        got = int(client.call("DBSIZE"))
        fields = int(client.call("HLEN", "h:%07d" % (n - 1)))
        if fields != 10:
            raise RuntimeError(f"HLEN of the last hash is {fields}, want 10")
    else:
        got = int(client.call("LLEN", "l"))
    if got != n:
        raise RuntimeError(f"{workload}: server holds {got}, want {n}")


def start(kind, binary, workdir):
    port = free_port()
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if kind == "redis":
        argv = ["redis-server"] + common + ["--dir", workdir, "--daemonize", "no"]
    else:
        argv = [binary] + common
    proc = subprocess.Popen(
        argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, port


def measure(kind, binary, workload, n, cmds):
    with tempfile.TemporaryDirectory() as d:
        proc, port = start(kind, binary, d)
        try:
            c = Client(port)
            c.call("PING")
            time.sleep(0.2)
            before = rss_bytes(proc.pid)
            t0 = time.time()
            c.pipeline(cmds)
            elapsed = time.time() - t0
            check(workload, c, n)
            time.sleep(0.5)
            after = rss_bytes(proc.pid)
            return before, after, elapsed
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workloads", nargs="+", choices=sorted(DEFAULT_N))
    ap.add_argument("--n", type=int, help="override the workload size")
    ap.add_argument(
        "--sabaody-bin",
        default=os.environ.get(
            "SABAODY_BIN",
            os.path.join(
                os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                "release",
                "sabaody-server",
            ),
        ),
    )
    a = ap.parse_args()
    if not os.access(a.sabaody_bin, os.X_OK):
        sys.exit(f"no sabaody-server binary at {a.sabaody_bin} (cargo build --release -p sabaody-server)")
    rows = []
    for w in a.workloads:
        n = a.n or DEFAULT_N[w]
        cmds = commands(w, n)
        elements = n * PER_ITEM[w]
        res = {}
        for kind in ("redis", "sabaody"):
            before, after, elapsed = measure(kind, a.sabaody_bin, w, n, cmds)
            res[kind] = (after - before) / elements
            print(
                f"{w:5} {kind:8} RSS {before / 2**20:8.1f} -> {after / 2**20:8.1f} MiB "
                f"({(after - before) / 2**20:8.1f} MiB for {elements} elements, "
                f"{res[kind]:6.1f} B/element, load {elapsed:.1f} s)",
                flush=True,
            )
        rows.append((w, elements, res["redis"], res["sabaody"]))
    print()
    print(f"{'workload':10} {'elements':>10} {'redis B/el':>11} {'sabaody B/el':>13} {'ratio':>7}")
    for w, e, r, s in rows:
        print(f"{w:10} {e:>10} {r:>11.1f} {s:>13.1f} {s / r:>6.2f}x")


if __name__ == "__main__":
    main()
