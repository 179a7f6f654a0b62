#!/usr/bin/env python3
"""The daemon's side of a Type=notify unit with a watchdog, without systemd:
listens on a NOTIFY_SOCKET as systemd does, starts qbsupervisor with
WATCHDOG_USEC, and expects READY=1, then WATCHDOG=1 pings, then STOPPING=1 after
SIGTERM (service/src/service.cpp).   test-sd-notify.py BUILD/bin"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

bin_dir = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    daemon = subprocess.Popen(
        [os.path.join(bin_dir, "qbsupervisor"), "--data", os.path.join(tmp, "data"),
         "--workers", "tcp://127.0.0.1:0", "--clients", "tcp://127.0.0.1:0", "--log-level", "warn"],
        env=env)
    seen = []

    def wait_for(message, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                seen.extend(sock.recv(4096).decode().split("\n"))
            except socket.timeout:
                break
            if seen.count(message) >= (2 if message == "WATCHDOG=1" else 1):
                return True
        return False

    try:
        ok = wait_for("READY=1", 20) and wait_for("WATCHDOG=1", 5)
        daemon.send_signal(signal.SIGTERM)
        ok = ok and wait_for("STOPPING=1", 10)
        status = daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    if not ok or status != 0:
        print(f"FAIL: got {seen}, exit {daemon.returncode}")
        sys.exit(1)
    first = [m for m in seen if m]
    if first[0] != "READY=1":
        print(f"FAIL: READY=1 must come first, got {first}")
        sys.exit(1)
    print(f"ok   sd_notify: {', '.join(dict.fromkeys(first))}")
