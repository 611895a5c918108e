#!/usr/bin/env python3
"""Change counter side by side: how much each command adds to `rdb_changes_since_last_save`
(Redis's `server.dirty`, what `save <seconds> <changes>` points count) in redis-server and in
sabaody-server. Prints every line whose delta (or, with --replies, whose reply) differs, and
exits 1 if any did.

    scripts/dirty-vs-redis.py [FILE] [--sabaody-bin PATH] [--redis-bin redis-server]
                              [--sabaody-addr HOST:PORT --redis-addr HOST:PORT] [--replies] [-v]

FILE (default: sabaody-server/tests/dirty/commands.txt, the list `tests/dirty_cross.rs` runs)
holds one command per line; `#` starts a comment line, arguments are separated by spaces and
`""` is the empty argument. Generated arguments: `@repeat(N,text)` is `text` N times,
`@seq(prefix,N)` expands to the N arguments `prefix0 prefix1 ...`, `@dump(key)` is the
payload `DUMP key` returns on the same server. A line may start with flags in brackets:

  [sleep=MS]    wait MS milliseconds before sending the line (let a short TTL pass)
  [conn=N]      send the line over connection N (1..3; opened on first use; default 0)
  [block]       send without reading the reply (a blocking command); `[conn=N] @reply`
                later reads it

Both servers are started here (each in a temporary --dir, on a free port, no save points, no
AOF) unless both --sabaody-addr and --redis-addr are given; the counter is read over a
connection of its own, so a line inside MULTI is measured too (as 0: it is only queued).
Python 3 standard library only.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LIST = os.path.join(ROOT, "sabaody-server", "tests", "dirty", "commands.txt")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Conn:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        """One RESP2 reply: bytes, int, None, a list, or ("err", text) / ("ok", text)."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return ("ok", rest.decode(errors="replace"))
        if kind == b"-":
            return ("err", rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(f"unexpected reply line {line!r}")

    def send(self, args):
        self.sock.sendall(b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in args))

    def call(self, args):
        self.send(args)
        return self.read()

    def dirty(self):
        text = self.call([b"INFO", b"persistence"])
        for line in text.decode().splitlines():
            if line.startswith("rdb_changes_since_last_save:"):
                return int(line.split(":", 1)[1])
        raise ValueError("no rdb_changes_since_last_save in INFO persistence")


def parse(path):
    """(line number, flags dict, words) per command line of `path`."""
    out = []
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            flags = {}
            if line.startswith("["):
                end = line.index("]")
                for word in line[1:end].split():
                    k, _, v = word.partition("=")
                    flags[k] = v
                line = line[end + 1:].strip()
            out.append((no, flags, line.split()))
    return out


def expand(words, dump):
    """The argv of a line's words (see the file format above); `dump(key)` runs DUMP."""
    argv = []
    for w in words:
        if w == '""':
            argv.append(b"")
        elif w.startswith("@repeat(") and w.endswith(")"):
            n, text = w[len("@repeat("):-1].split(",", 1)
            argv.append(text.encode() * int(n))
        elif w.startswith("@seq(") and w.endswith(")"):
            prefix, n = w[len("@seq("):-1].split(",", 1)
            argv.extend(f"{prefix}{i}".encode() for i in range(int(n)))
        elif w.startswith("@dump(") and w.endswith(")"):
            argv.append(dump(w[len("@dump("):-1].encode()))
        else:
            argv.append(w.encode())
    return argv


class Side:
    """One server: its connections (0..3) and the connection that reads the counter."""

    def __init__(self, name, addr):
        self.name, self.addr = name, addr
        self.conns = {}
        self.probe = Conn(addr)

    def conn(self, n):
        if n not in self.conns:
            self.conns[n] = Conn(self.addr)
        return self.conns[n]

    def run(self, flags, words):
        c = self.conn(int(flags.get("conn", "0") or 0))
        argv = expand(words, lambda key: self.probe.call([b"DUMP", key]) or b"")
        if words == ["@reply"]:
            return c.read()
        if "block" in flags:
            c.send(argv)
            return None
        return c.call(argv)


def start(cmd, port, name):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = Conn(f"127.0.0.1:{port}")
            pong = c.call([b"PING"])
            c.sock.close()
            if pong == ("ok", "PONG"):
                return p
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    sys.exit(f"{name} did not start on port {port}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=DEFAULT_LIST)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--sabaody-bin", default=os.path.join(target, "release", "sabaody-server"))
    ap.add_argument("--redis-bin", default="redis-server")
    ap.add_argument("--sabaody-addr")
    ap.add_argument("--redis-addr")
    ap.add_argument("--replies", action="store_true", help="also report differing replies")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every line")
    a = ap.parse_args()

    procs, dirs = [], []
    try:
        addrs = {}
        for name, given, binary in (("redis", a.redis_addr, a.redis_bin),
                                    ("sabaody", a.sabaody_addr, a.sabaody_bin)):
            if given:
                addrs[name] = given
                continue
            port = free_port()
            d = tempfile.mkdtemp(prefix=f"dirty-{name}-")
            dirs.append(d)
            procs.append(start([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                                "--save", "", "--appendonly", "no",
                                "--enable-debug-command", "yes"], port, name))
            addrs[name] = f"127.0.0.1:{port}"
        sides = [Side("redis", addrs["redis"]), Side("sabaody", addrs["sabaody"])]
        bad = 0
        lines = parse(a.file)
        for no, flags, words in lines:
            if flags.get("sleep"):
                time.sleep(int(flags["sleep"]) / 1000)
            deltas, replies = [], []
            for s in sides:
                before = s.probe.dirty()
                replies.append(s.run(flags, words))
                deltas.append(s.probe.dirty() - before)
            text = " ".join(words)
            differs = deltas[0] != deltas[1]
            reply_differs = a.replies and replies[0] != replies[1]
            if differs or reply_differs or a.verbose:
                mark = "MISMATCH" if differs else ("reply" if reply_differs else "ok")
                print(f"{mark:8} line {no}: {text}: redis +{deltas[0]}, sabaody +{deltas[1]}"
                      + (f"  replies {replies[0]!r} / {replies[1]!r}" if reply_differs else ""))
            bad += differs or reply_differs
        print(f"{len(lines)} lines, {bad} differing")
        return 1 if bad else 0
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
