"""Where the supervisor is, how long to wait for it, and the caller's token.

Everything is read at each call, never at import: scripts commonly
``import qb`` first and set the environment afterwards. Order:
  1. qb.setsupervisor(host)
  2. $QB_API_URL                 (e.g. http://127.0.0.1:50080)
  3. $QB_SUPERVISOR              host, host:port, or tcp://host:port (the
                                 ZeroMQ endpoint: its host, the default HTTP port)
  4. qb_supervisor in /etc/qb.conf ($QB_CONF names another file)
  5. 127.0.0.1
"""
import os
import urllib.parse

from ._errors import error

DEFAULT_HTTP_PORT = 50080
DEFAULT_CONF = "/etc/qb.conf"
DEFAULT_TIMEOUT_MS = 30000

_state = {"supervisor": "", "timeout_ms": DEFAULT_TIMEOUT_MS}


def setsupervisor(supervisor):
    """Use this supervisor (a host, host:port, or URL); '' goes back to the defaults."""
    if supervisor is None:
        supervisor = ""
    if not isinstance(supervisor, str):
        raise error("setsupervisor: give a host name, host:port or URL")
    _state["supervisor"] = supervisor.strip()


def settimeout(timeout):
    """How long a request may take, in milliseconds (Qube!'s unit)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise error("settimeout: give a positive number of milliseconds")
    _state["timeout_ms"] = timeout


def gettimeout():
    return _state["timeout_ms"]


def conf_supervisor(path=None):
    """qb_supervisor from a Qube!-style qb.conf ('key = value' lines, # comments)."""
    path = path or os.environ.get("QB_CONF") or DEFAULT_CONF
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.split("#", 1)[0].partition("=")
                if sep and key.strip() == "qb_supervisor":
                    return value.strip().strip('"\'')
    except OSError:
        pass
    return ""


def _from_url(text):
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise error("'%s' is not an http:// or https:// URL" % text)
    return text.rstrip("/")


def url_of(text):
    """The HTTP base URL a supervisor setting names."""
    text = text.strip()
    if "://" in text:
        if text.startswith("tcp://"):
            # The ZeroMQ endpoint qbsub uses (and jobs get in QB_SUPERVISOR): the
            # same host, but its HTTP port is the default one.
            host = urllib.parse.urlsplit("//" + text[len("tcp://"):]).hostname
            if not host or host in ("*", "0.0.0.0"):
                host = "127.0.0.1"
            return "http://%s:%d" % (_bracketed(host), DEFAULT_HTTP_PORT)
        return _from_url(text)
    if text.count(":") > 1 and not text.startswith("["):
        return "http://[%s]:%d" % (text, DEFAULT_HTTP_PORT)  # a bare IPv6 address
    parsed = urllib.parse.urlsplit("//" + text)
    try:
        port = parsed.port
    except ValueError:
        raise error("'%s' is not a host or host:port" % text)
    if not parsed.hostname:
        raise error("'%s' is not a host or host:port" % text)
    return "http://%s:%d" % (_bracketed(parsed.hostname), port or DEFAULT_HTTP_PORT)


def _bracketed(host):
    return "[%s]" % host if ":" in host else host


def base_url():
    """The supervisor's HTTP base URL, found anew at each call."""
    if _state["supervisor"]:
        return url_of(_state["supervisor"])
    if os.environ.get("QB_API_URL", "").strip():
        return _from_url(os.environ["QB_API_URL"].strip())
    for text in (os.environ.get("QB_SUPERVISOR", ""), conf_supervisor()):
        if text.strip():
            return url_of(text)
    return "http://127.0.0.1:%d" % DEFAULT_HTTP_PORT


def getsupervisor():
    """The supervisor's host name, as Qube!'s getsupervisor returns it."""
    return urllib.parse.urlsplit(base_url()).hostname


def token():
    """The caller's API token: $QB_TOKEN, else ~/.config/qube/token (qb keys writes it)."""
    value = os.environ.get("QB_TOKEN", "").strip()
    if value:
        return value
    try:  # beside the user's keys and client.yaml, as qb and qbsub look for them
        with open(os.path.expanduser("~/.config/qube/token"), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""
