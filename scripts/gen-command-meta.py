#!/usr/bin/env python3
"""Regenerates sabaody-server/src/cmd/meta.rs from a live redis-server 7.0.

`COMMAND INFO` in Redis 7 carries more than the command table declares: the full flag list
(allow_busy, no_async_loading, ...), the tips (request/response policies for cluster clients)
and the key specs (which arguments are keys, and how each is accessed). Sabaody answers
`COMMAND INFO`, `COMMAND GETKEYS` and `COMMAND GETKEYSANDFLAGS` from this data for every
command it implements, so that clients and proxies that read it see what redis-server says.
From `COMMAND DOCS` it keeps the facts (since, group, deprecation, the argument grammar that
redis-cli turns into hints), not the prose (summaries, complexity, history).

Usage: scripts/gen-command-meta.py [redis-server binary]   (default: redis-server on PATH)

It starts its own redis-server on a free loopback port in a temporary directory, reads
`COMMAND INFO` and `COMMAND DOCS` (for the group), and writes the Rust file. Commands of the
cluster, scripting and stream groups are left out (Sabaody has none of them).
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

SKIP_GROUPS = {"cluster", "scripting", "stream"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sabaody-server", "src",
                   "cmd", "meta.rs")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)


def pairs(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def rs(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def strs(items):
    return "&[" + ", ".join(rs(x) for x in items) + "]"


def key_spec(spec):
    d = pairs(spec)
    notes = "Some(%s)" % rs(d["notes"]) if "notes" in d else "None"
    bs = pairs(d["begin_search"])
    bspec = pairs(bs["spec"]) if bs["spec"] else {}
    if bs["type"] == "index":
        begin = "Begin::Index(%d)" % bspec["index"]
    elif bs["type"] == "keyword":
        begin = "Begin::Keyword { keyword: %s, startfrom: %d }" % (rs(bspec["keyword"]),
                                                                   bspec["startfrom"])
    else:
        begin = "Begin::Unknown"
    fk = pairs(d["find_keys"])
    fspec = pairs(fk["spec"]) if fk["spec"] else {}
    if fk["type"] == "range":
        find = "Find::Range { lastkey: %d, keystep: %d, limit: %d }" % (
            fspec["lastkey"], fspec["keystep"], fspec["limit"])
    elif fk["type"] == "keynum":
        find = "Find::Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % (
            fspec["keynumidx"], fspec["firstkey"], fspec["keystep"])
    else:
        find = "Find::Unknown"
    return "KeySpec { notes: %s, flags: %s, begin: %s, find: %s }" % (
        notes, strs(d["flags"]), begin, find)


def arg(a, indent):
    d = pairs(a)
    ksi = d.get("key_spec_index", -1)
    tok = "Some(%s)" % rs(d["token"]) if "token" in d else "None"
    since = "Some(%s)" % rs(d["since"]) if "since" in d else "None"
    dep = "Some(%s)" % rs(d["deprecated_since"]) if "deprecated_since" in d else "None"
    unknown = set(d) - {"name", "type", "key_spec_index", "token", "since", "deprecated_since",
                        "flags", "arguments"}
    if unknown:
        sys.exit("argument field(s) this generator does not know: %s" % unknown)
    sub = d.get("arguments") or []
    pad = " " * indent
    inner = "".join("\n" + pad + "    " + arg(x, indent + 4) + "," for x in sub)
    return ("Arg { name: %s, typ: %s, key_spec_index: %d, token: %s, since: %s, "
            "deprecated_since: %s, flags: %s, args: &[%s] }" % (
                rs(d["name"]), rs(d["type"]), ksi, tok, since, dep,
                               strs(d.get("flags") or []),
                               inner + ("\n" + pad if sub else "")))


def entry(info, docs, out):
    name, arity, flags, first, last, step, cats, tips, specs, subs = info
    subs = subs or []
    doc = pairs(docs[name])
    unknown = set(doc) - {"summary", "since", "group", "complexity", "doc_flags",
                          "deprecated_since", "replaced_by", "history", "arguments",
                          "subcommands"}
    if unknown:
        sys.exit("docs field(s) this generator does not know: %s" % unknown)
    dep = "Some(%s)" % rs(doc["deprecated_since"]) if "deprecated_since" in doc else "None"
    args = doc.get("arguments") or []
    out.append("    Meta {\n        name: %s,\n        arity: %d,\n        flags: %s,\n"
               "        first: %d,\n        last: %d,\n        step: %d,\n"
               "        categories: %s,\n        tips: %s,\n"
               "        key_specs: &[%s],\n        subcommands: %s,\n"
               "        since: %s,\n        group: %s,\n        doc_flags: %s,\n"
               "        deprecated_since: %s,\n        args: &[%s],\n    },\n" % (
                   rs(name), arity, strs(flags), first, last, step, strs(cats), strs(tips),
                   "".join("\n            " + key_spec(s) + "," for s in specs)
                   + ("\n        " if specs else ""),
                   strs([s[0] for s in subs]),
                   rs(doc["since"]), rs(doc["group"]), strs(doc.get("doc_flags") or []), dep,
                   "".join("\n            " + arg(a, 12) + "," for a in args)
                   + ("\n        " if args else "")))
    sub_docs = pairs(doc.get("subcommands") or [])
    for s in subs:
        entry(s, sub_docs, out)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", tmp],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = Conn(port)
                c.call("PING")
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("redis-server did not start")
        version = pairs([x for line in c.call("INFO", "server").splitlines() if ":" in line
                         for x in line.split(":", 1)])["redis_version"]
        infos = c.call("COMMAND", "INFO")
        docs = pairs(c.call("COMMAND", "DOCS"))
        keep = []
        for info in infos:
            group = pairs(docs[info[0]])["group"]
            if group not in SKIP_GROUPS:
                keep.append(info)
        keep.sort(key=lambda i: i[0])
    finally:
        proc.terminate()
        proc.wait()
    out = ["//! `COMMAND INFO` data of redis-server %s: flags, tips, key specs and subcommands of\n"
           "//! every command outside the cluster, scripting and stream groups.\n"
           "//! GENERATED by `scripts/gen-command-meta.py` (it reads a live redis-server): do not\n"
           "//! edit by hand, re-run the script.\n\n"
           "use super::keyspec::{Arg, Begin, Find, KeySpec, Meta};\n\n"
           "/// Sorted by name (subcommands as `container|sub`), for binary search.\n"
           "pub(crate) static META: &[Meta] = &[\n" % version]
    entries = []
    for info in keep:
        entry(info, docs, entries)
    # Sort again with the subcommands in: `container|sub` names sort among the rest.
    blocks = ["    Meta {" + b for b in "".join(entries).split("    Meta {")[1:]]
    blocks.sort(key=lambda b: b.split('name: "', 1)[1].split('"', 1)[0])
    out.extend(blocks)
    out.append("];\n")
    with open(OUT, "w") as f:
        f.write("".join(out))
    print("wrote %s: %d entries" % (OUT, len(blocks)))


if __name__ == "__main__":
    main()
