#!/usr/bin/env python3
"""Seed corpus and dictionary for the `server_commands` fuzz target, from the differential
scripts (sabaody-server/tests/diff/**/*.redis): every 25 commands of a script become one input
(a chunking byte, then the commands as RESP multibulks), so the fuzzer starts from real,
valid commands of every family instead of discovering the protocol byte by byte.

    python3 fuzz/seeds.py /tmp/seeds           # writes /tmp/seeds/seed0000... and /tmp/seeds.dict
    cd fuzz && cargo +nightly fuzz run server_commands corpus/server_commands /tmp/seeds -- \\
        -max_len=8192 -dict=/tmp/seeds.dict -timeout=30

A timeout is a finding (a command that never returns, e.g. a lock waited on by its holder).
"""
import glob
import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sabaody-seeds"
os.makedirs(out, exist_ok=True)
names = set()
n = 0
for path in sorted(glob.glob(os.path.join(ROOT, "sabaody-server/tests/diff/**/*.redis"), recursive=True)):
    cmds = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                flags, _, line = line[1:].partition("]")
                # Raw bytes and blocking commands need the harness's handling.
                if "raw" in flags or "block" in flags:
                    continue
                line = line.strip()
            try:
                argv = shlex.split(line)
            except ValueError:
                continue
            # Generated arguments (@bytes, @repeat, @pairs) and @reply are harness syntax.
            if not argv or any(a.startswith("@") for a in argv):
                continue
            names.add(argv[0].upper())
            cmds.append(argv)
    for i in range(0, len(cmds), 25):
        data = bytearray([n % 251])
        for argv in cmds[i : i + 25]:
            data += b"*%d\r\n" % len(argv)
            for a in argv:
                b = a.encode()
                data += b"$%d\r\n%s\r\n" % (len(b), b)
        with open(os.path.join(out, "seed%04d" % n), "wb") as f:
            f.write(data)
        n += 1
with open(out.rstrip("/") + ".dict", "w") as f:
    for name in sorted(names):
        f.write('"%s"\n' % name)
print(f"{n} seeds in {out}, {len(names)} command names in {out.rstrip('/')}.dict")
