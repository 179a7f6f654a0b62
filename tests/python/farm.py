"""A real farm for the tests that need one: the build's qbsupervisor (with its
HTTP API on a free loopback port) and one qbworker, in a temporary directory,
as tests/integration/farm_fixture.* starts them for the C++ tests."""
import json
import os
import signal
import subprocess
import time


class FarmError(RuntimeError):
    pass


def wait_until(predicate, timeout=30.0, what="a condition"):
    """Polls `predicate` until it returns something true; its value, or FarmError
    at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise FarmError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def bin_dir():
    if os.environ.get("QUBE_BIN"):
        return os.environ["QUBE_BIN"]
    if os.environ.get("QBDIR"):
        return os.path.join(os.environ["QBDIR"], "bin")
    return ""


def supervisor_has_http(bindir):
    """Whether this build's supervisor serves the HTTP API (qbsupervisor --http)."""
    exe = os.path.join(bindir, "qbsupervisor")
    if not os.access(exe, os.X_OK):
        return False
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    return "--http" in out.stdout + out.stderr


class Farm:
    def __init__(self, bindir, directory):
        self.bin = bindir
        self.dir = directory
        self.procs = []
        self.worker_name = "pyfarm-w1"
        self.env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.env.pop("QB_USER", None)  # the farm's user is the login, as the token's

    def _spawn(self, name, argv):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.dir,
                                start_new_session=True)
        log.close()
        self.procs.append((name, proc))
        return proc

    def log(self, name, lines=60):
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def start(self):
        data = os.path.join(self.dir, "data")
        config = os.path.join(self.dir, "supervisor.yaml")
        with open(config, "w") as f:
            f.write("heartbeat_interval: 0.5\nheartbeat_misses: 10\nlog_level: debug\n")
        sup = self._spawn("supervisor", [os.path.join(self.bin, "qbsupervisor"), "--config", config,
                                         "--data", data, "--workers", "tcp://127.0.0.1:0",
                                         "--clients", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0"])
        endpoints_file = os.path.join(data, "endpoints.json")

        def endpoints():
            if sup.poll() is not None:
                raise FarmError("qbsupervisor exited (%s):\n%s" % (sup.returncode, self.log("supervisor")))
            try:
                with open(endpoints_file) as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                return None  # not yet, or still being written
            return doc if doc.get("pid") == sup.pid and doc.get("http") else None

        doc = wait_until(endpoints, what="the supervisor's endpoints.json")
        self.clients, self.workers = doc["clients"], doc["workers"]
        http = doc["http"]
        self.api_url = http if "://" in http else "http://" + http
        self.env["QB_SUPERVISOR"] = self.clients
        self.token = self.issue_token()
        self._spawn("worker", [os.path.join(self.bin, "qbworker"), "--supervisor", self.workers,
                               "--name", self.worker_name, "--slots", "2"])
        return self

    def qb(self, *args):
        """Runs the build's qb CLI against this farm; its stdout."""
        out = subprocess.run([os.path.join(self.bin, "qb")] + list(args), capture_output=True, text=True,
                             env=self.env, timeout=60)
        if out.returncode != 0:
            raise FarmError("qb %s: exit %d: %s" % (" ".join(args), out.returncode, out.stderr.strip()))
        return out.stdout

    def issue_token(self):
        """An API token for the current user, as `qb keys token` issues it."""
        text = self.qb("keys", "token", "--json")
        try:
            return json.loads(text)["token"]
        except (ValueError, KeyError, TypeError):
            return text.strip().split()[-1]

    def stop(self):
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
