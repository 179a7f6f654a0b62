"""One request to the supervisor's HTTP API: POST {base}/api/v1/request with
{"type": T, "body": {...}}; 200 answers the reply's fields, anything else
{"error": message, "status": N}. Standard library only (http.client)."""
import getpass
import http.client
import json
import urllib.parse

from . import _config
from ._errors import error

PATH = "/api/v1/request"


def current_user():
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without passwd entry): the token decides
        return ""


def _connection(url):
    parsed = urllib.parse.urlsplit(url)
    timeout = _config.gettimeout() / 1000.0
    cls = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    return cls(parsed.hostname, parsed.port, timeout=timeout), parsed.path.rstrip("/") + PATH


def request(type_, body=None):
    """Sends one request and returns the reply's fields (a dict); raises qb.error."""
    url = _config.base_url()
    payload = json.dumps({"type": type_, "body": body or {}}).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    tok = _config.token()
    if tok:
        headers["Authorization"] = "Bearer " + tok
    conn, path = _connection(url)
    try:
        conn.request("POST", path, body=payload, headers=headers)
        response = conn.getresponse()
        status, data = response.status, response.read()
    except (OSError, http.client.HTTPException) as e:
        raise error("cannot reach the supervisor at %s: %s" % (url, e or type(e).__name__))
    finally:
        conn.close()
    try:
        reply = json.loads(data.decode("utf-8")) if data else {}
    except ValueError:
        reply = None
    if status == 200 and isinstance(reply, dict):
        return reply
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise error(reply["error"], status)
    text = data[:200].decode("utf-8", "replace").strip()
    raise error("%s: HTTP %d from %s%s" % (type_, status, url, (": " + text) if text else ""), status)
