#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the
unit tests' inputs and the examples, plus one body of each protocol message.
Run from anywhere; it rewrites the seeds it makes and leaves other files (inputs
the fuzzer found worth keeping) alone. Seeds are named by a hash of their content."""
import hashlib
import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def msgpack(v):
    """The subset of MessagePack that qube::encode writes."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v) if v < 0 else b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        head = bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xdb" + struct.pack(">I", len(b))
        return head + b
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(msgpack(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(msgpack(k) + msgpack(x) for k, x in v.items())
    raise TypeError(v)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def c_strings(path, pattern):
    """The C++ string literals matched by `pattern` (group 1), unescaped."""
    return [bytes(s, "utf-8").decode("unicode_escape") for s in re.findall(pattern, read(path))]


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for s in seeds:
        data = s if isinstance(s, bytes) else s.encode()
        with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
            f.write(data)


# One body of each worker <-> supervisor and channel message (docs/protocol.md).
JOB = {"id": 13, "subid": 0, "pgrp": 13, "name": "shot", "type": "cmdline", "user": "alice",
       "package": {"cmdline": "echo hi"}, "env": {"A": "1"}, "padding": 4, "cwd": "/tmp"}
BODIES = {
    "register": {"name": "w1", "slots": 4, "memory_mb": 16000, "jobtypes": ["cmdline"], "facts": {"groups": ["gpu"]}},
    "heartbeat": {"name": "w1", "instances": 2, "ack": True},
    "work_request": {"job": 13, "subid": 0},
    "work_result": {"job": 13, "subid": 0, "index": 2, "attempt": 1, "status": "complete", "exitcode": 0,
                    "signal": 0, "walltime": 1.5, "cputime": 1.25, "peak_rss_kb": 2048, "reason": "",
                    "resultpackage": {"outputPaths": "/tmp/a.exr"}},
    "log": {"job": 13, "subid": 0, "stream": "out", "data": "text"},
    "instance_done": {"job": 13, "subid": 0, "status": "failed", "exitcode": 1, "reason": "exit 1"},
    "registered": {"heartbeat_interval": 5, "client_endpoint": "tcp://127.0.0.1:50001"},
    "reregister": {},
    "heartbeat_ack": {},
    "start_instance": {"job": JOB},
    "work": {"job": 13, "subid": 0, "index": 2, "item": "1-10", "attempt": 1},
    "kill_instance": {"job": 13, "subid": 0},
    "suspend_instance": {"job": 13, "subid": 0, "suspend": True},
}
CHANNEL = [{"t": "work", "index": 2, "item": "5", "attempt": 1}, {"t": "done"}, {"t": "request"},
           {"t": "fatal", "reason": "no such scene"}, {"t": "log", "stream": "err", "data": "x"},
           {"t": "result", "index": 2, "status": "complete", "exitcode": 0}]


def frames(type_, body):
    header = msgpack({"v": 1, "type": type_, "id": 7})
    return bytes([len(header)]) + header + msgpack(body)


# Job specs in their wire form; fuzz_validate reads JSON text.
SPECS = [
    {"name": "shot", "type": "cmdline", "user": "alice", "priority": 100, "cpus": 2, "range": "1-100x3",
     "chunk": 5, "package": {"cmdline": "render -f QB_FRAME_NUMBER"}, "env": {"A": "1"},
     "requirements": "host.os == linux && host.memory.avail >= 16000", "reservations": "host.processors=2,host.memory=4000",
     "restrictions": "/show/seq||/show/other", "hosts": ["w1"], "groups": ["gpu"],
     "conditions": [{"name": "hostname", "op": "in", "value": ["w1", "w2"]}], "tags": ["single:nuke"],
     "dependency": "link-complete-job-12", "label": "comp",
     "callbacks": [{"triggers": "complete-job-self", "language": "qube", "code": "unblock-job-13"}]},
    {"name": "x", "priority": 0, "cpus": -1, "range": "abc", "env": {"1BAD": "x"}, "type": "bad type"},
]
REQUESTS = [
    {"jobs": [dict(SPECS[0], pid=3, parent_label="root")], "user": "alice"},
    {"hosts": ["w1", "w2"], "purge": True, "user": "admin"},
    {"host": "w1", "set": {"groups": ["gpu"], "cluster": "/a", "properties": {"arch": "x86_64"},
                           "resources": {"host.scratch": 100}}, "user": "admin"},
    {"name": "license.nuke", "total": 4, "user": "admin"},
    {"ids": [1, 2, 3], "user": "alice", "work": "1-10"},
    {"filter": {"user": "alice", "name": "shot*", "status": "pending", "pgrp": 4}, "user": "alice",
     "set": {"priority": 5}},
]
KEYS = [
    '#   ZeroMQ CURVE **Secret** Certificate\nmetadata\n    name = "alice"\ncurve\n'
    '    public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"\n'
    '    secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"\n',
    '#   ZeroMQ CURVE Public Certificate\nmetadata\n    name = "w1"\ncurve\n'
    '    public-key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"\n',
]


def main():
    write("msgpack", [msgpack(b) for b in BODIES.values()] + [msgpack(r) for r in REQUESTS] +
          [msgpack([1, -1, -100, 2**40, -2**40, 1.5, None, True, False, "", "x" * 40])])
    write("protocol", [frames(t, b) for t, b in BODIES.items()] + [frames("channel", c) for c in CHANNEL])
    write("client_requests", [msgpack(r) for r in REQUESTS])
    write("validate", [json.dumps(s) for s in SPECS])
    write("range", [b"\x05" + s.encode() for s in
                    c_strings("tests/unit/test_range.cpp", r'(?:parse|expand)_range\("((?:[^"\\]|\\.)*)"\)')])
    write("trigger", c_strings("tests/unit/test_trigger.cpp", r'parse_trigger\("((?:[^"\\]|\\.)*)"\)') +
          ["5\n1-10", "1-10x2\n4", "*\n7"])
    write("dependency", c_strings("tests/unit/test_dependency.cpp", r'"((?:link|done|complete|failed|killed)-[^"]*)"'))
    write("requirements", c_strings("tests/unit/test_expression.cpp", r'\{"((?:[^"\\]|\\.)*)", (?:true|false)\}'))
    raw = re.findall(r'R"\((.*?)\)"', read("tests/unit/test_jobfile.cpp"), re.S)
    write("jobfile", raw + [read("examples/hqueue-encode-video.json"), read("examples/pipeline-shot.yaml")])
    write("keyfile", KEYS)


if __name__ == "__main__":
    main()
