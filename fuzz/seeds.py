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
import re
import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sabaody-seeds"
os.makedirs(out, exist_ok=True)
OPTION_WORD = re.compile(r"[A-Z][A-Z0-9_-]{1,30}")
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
            if argv[0]:  # errors.redis sends an empty command name; libFuzzer refuses "" in a dict
                names.add(argv[0].upper())
            # Option and subcommand words (BY, LIMIT, WITHMATCHLEN, GETKEYS...), which the
            # scripts write in capitals: without them in the dictionary the fuzzer rarely
            # reaches the option parsers.
            names.update(a for a in argv[1:] if OPTION_WORD.fullmatch(a))
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


# DUMP payloads for RESTORE (the scripts' payloads are written with \xHH escapes, which
# shlex leaves as text): a few values in the encodings RESTORE reads, with their footer (RDB
# version 10, CRC64 Jones, as Redis's createDumpPayload), so the fuzzer starts from payloads
# that pass the checksum and mutates the values behind it.
def crc64(data, crc=0):
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95AC9329AC4BC9B5 if crc & 1 else crc >> 1
    return crc


def payload(body, version=10):
    p = bytes(body) + bytes([version & 0xFF, version >> 8])
    return p + crc64(p).to_bytes(8, "little")


def listpack(items):
    ents = b""
    for it in items:
        assert len(it) < 64
        e = bytes([0x80 | len(it)]) + it
        ents += e + bytes([len(e)])
    total = 6 + len(ents) + 1
    return total.to_bytes(4, "little") + len(items).to_bytes(2, "little") + ents + b"\xff"


def blob(b):
    assert len(b) < 64
    return bytes([len(b)]) + b


lp = listpack([b"f", b"v", b"g", b"w"])
payloads = [
    payload(b"\x00\x05hello"),                                  # string
    payload(b"\x00\xc0\x7b"),                                  # int8 string
    payload(b"\x02\x02\x01a\x01b"),                              # set
    payload(b"\x0b" + blob(b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x05\x00")),  # intset
    payload(b"\x10" + blob(lp)),                                 # hash listpack
    payload(b"\x11" + blob(listpack([b"a", b"1", b"b", b"2.5"]))),  # zset listpack
    payload(b"\x12\x01\x02" + blob(listpack([b"x", b"y"]))),      # quicklist 2
    payload(b"\x05\x01\x01a\x00\x00\x00\x00\x00\x00\x04\x40"),  # zset-2 (2.5)
    payload(b"\x00\xc3\x05\x0a\x00a\xe0\x00\x00"),              # LZF string (ten "a")
]
for j, p in enumerate(payloads):
    cmds = [
        [b"RESTORE", b"k%d" % j, b"0", p],
        [b"DUMP", b"k%d" % j],
        [b"RESTORE", b"k%d" % j, b"100000", p, b"REPLACE", b"IDLETIME", b"5"],
        [b"RESTORE", b"t%d" % j, b"1", p, b"ABSTTL", b"FREQ", b"3"],
        [b"TYPE", b"k%d" % j],
        [b"DUMP", b"k%d" % j],
    ]
    data = bytearray([n % 251])
    for argv in cmds:
        data += b"*%d\r\n" % len(argv)
        for a in argv:
            data += b"$%d\r\n%s\r\n" % (len(a), a)
    with open(os.path.join(out, "seed%04d" % n), "wb") as f:
        f.write(data)
    n += 1
names.update(["RESTORE", "DUMP", "REPLACE", "ABSTTL", "IDLETIME", "FREQ"])
# Words of the newer commands, in case no script spells them in capitals, and the SORT
# pattern pieces (`*` substitution, `->field` of a hash, `#` for the element itself).
names.update("""SORT SORT_RO BY GET LIMIT STORE ALPHA ASC DESC NOSORT LCS IDX LEN MINMATCHLEN
    WITHMATCHLEN LATENCY LATEST HISTORY RESET GRAPH DOCTOR HISTOGRAM HELP COMMAND GETKEYS
    GETKEYSANDFLAGS DOCS INFO COUNT LIST FILTERBY MODULE ACLCAT PATTERN MEMORY USAGE SAMPLES
    PURGE MALLOC-STATS STATS OBJECT ENCODING FREQ IDLETIME REFCOUNT CONFIG RESETSTAT CLIENT
    COMMANDSTATS COMMAND-NAME EVENT""".split())
words = sorted(names) + ["*", "->", "#", "w_*", "h_*->f", "nosort"]
with open(out.rstrip("/") + ".dict", "w") as f:
    for name in words:
        f.write('"%s"\n' % name)
print(f"{n} seeds in {out}, {len(words)} dictionary words in {out.rstrip('/')}.dict")
