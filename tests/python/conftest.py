"""Shared test set-up: import qb the way Qube!'s examples do, and a fake
supervisor (a stdlib HTTP server) that records the requests it gets."""
import http.server
import json
import os
import sys
import threading

import pytest


def _qb_path():
    """As Qube!'s examples: $QBDIR/api/python; from a source tree without a
    build, the module's sources."""
    qbdir = os.environ.get("QBDIR", "")
    if qbdir:
        return os.path.join(qbdir, "api", "python")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "api", "python")


# $QBDIR first when it is set, so the tests test the build they were pointed at
# (and not a `qb` directory that happens to be in the working directory).
if os.environ.get("QBDIR"):
    sys.path.insert(0, os.path.abspath(_qb_path()))
try:
    import qb
    qb.submit
except (ImportError, AttributeError):
    sys.modules.pop("qb", None)
    sys.path.insert(0, os.path.abspath(_qb_path()))
    import qb


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Each test starts with no supervisor setting and no token from the machine."""
    for name in ("QB_API_URL", "QB_SUPERVISOR", "QB_TOKEN", "QBJOBID", "QBSUBID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QB_CONF", str(tmp_path / "no-qb.conf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    qb.setsupervisor("")
    qb.settimeout(30000)
    yield
    qb.setsupervisor("")


class FakeSupervisor:
    """Answers POST /api/v1/request from `replies`: type -> a dict (200) or
    (status, dict), or a function of the body returning either."""

    def __init__(self):
        self.requests = []  # (type, body, headers)
        self.replies = {}
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                doc = json.loads(self.rfile.read(length))
                fake.requests.append((doc["type"], doc["body"], dict(self.headers)))
                status, reply = fake.answer(self.path, doc["type"], doc["body"])
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def answer(self, path, type_, body):
        if path != "/api/v1/request":
            return 404, {"error": "no such resource " + path, "status": 404}
        reply = self.replies.get(type_)
        if reply is None:
            return 400, {"error": "unknown request '%s'" % type_, "status": 400}
        if callable(reply):
            reply = reply(body)
        return reply if isinstance(reply, tuple) else (200, reply)

    def types(self):
        return [t for t, _, _ in self.requests]

    def body(self, type_):
        """The body of the last request of this type."""
        return [b for t, b, _ in self.requests if t == type_][-1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(monkeypatch):
    server = FakeSupervisor()
    monkeypatch.setenv("QB_API_URL", server.url)
    yield server
    server.close()


@pytest.fixture(scope="session")
def _farm_daemons(tmp_path_factory):
    import farm as farm_module
    bindir = farm_module.bin_dir()
    if not bindir or not farm_module.supervisor_has_http(bindir):
        pytest.skip("no qbsupervisor with --http in $QUBE_BIN / $QBDIR/bin: the real-farm tests need the build")
    farm = farm_module.Farm(bindir, str(tmp_path_factory.mktemp("farm")))
    try:
        farm.start()
        yield farm
    finally:
        farm.stop()


@pytest.fixture
def farm(_farm_daemons, monkeypatch):
    """A real farm; qb points at its HTTP API with a token, as a user's script would."""
    monkeypatch.setenv("QB_API_URL", _farm_daemons.api_url)
    monkeypatch.setenv("QB_TOKEN", _farm_daemons.token)
    import farm as farm_module
    farm_module.wait_until(lambda: [h for h in qb.hostinfo(name=_farm_daemons.worker_name)
                                    if h.get("state") == "active"], what="the worker to register")
    return _farm_daemons
