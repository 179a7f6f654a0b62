"""Reading the farm: jobinfo, hostinfo, hist, stdout and stderr."""
import base64
import datetime
import fnmatch
import numbers
import time

from . import _jobdict
from ._errors import error
from ._transport import request

# Filters the supervisor applies itself (the `jobs` request); the rest are
# applied here on the records it returns.
_SERVER_FILTERS = ("user", "name", "status", "pgrp")
# Qube!'s filter names that are named otherwise in the records.
_RECORD_KEYS = {"prototype": "type"}


def job_ref(value):
    """12, '12' -> (12, None); '12.3' -> (12, 3). Anything else is a qb.error."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
        return int(value), None
    if isinstance(value, str):
        head, dot, tail = value.strip().partition(".")
        if head.isdigit() and int(head) > 0 and (not dot or tail.isdigit()):
            return int(head), (int(tail) if dot else None)
    raise error("'%s' is not a job id (ID or 'ID.SUBID')" % (value,))


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _seconds(value, what):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, datetime.date):
        return time.mktime(value.timetuple())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return value
    raise error("jobinfo: '%s' must be seconds or a datetime" % what)


def _matches(record, key, wanted):
    value = record.get(_RECORD_KEYS.get(key, key))
    if isinstance(value, list):  # hosts, groups ...: any of the job's
        return any(_matches({key: v}, key, wanted) for v in value) if value else False
    if key == "todo":
        value = (record.get("progress") or {}).get("total", 0)
    for w in _as_list(wanted):
        if key == "name" and isinstance(w, str) and isinstance(value, str) and fnmatch.fnmatchcase(value, w):
            return True
        if value == w or str(value) == str(w):
            return True
    return False


def _filters_of(args, filters, id, ids, status):
    """Qube!'s ways of asking into one filter dict: filters=, id=, ids=, status=,
    and the command-line style jobinfo('-pgrp', 12, '-status', 'running')."""
    out = dict(filters or {})
    wanted_ids = []
    args = list(args)
    while args:
        arg = args.pop(0)
        if isinstance(arg, str) and arg.startswith("-") and len(arg) > 1 and not arg[1:2].isdigit():
            if not args:
                raise error("jobinfo: '%s' needs a value" % arg)
            out[arg[1:]] = args.pop(0)
        else:
            wanted_ids += _as_list(arg)
    for value in (out.pop("id", None), id, ids):
        if value is not None:
            wanted_ids += _as_list(value)
    if status is not None:
        out["status"] = status
    return out, [job_ref(i)[0] for i in wanted_ids]


# Qube!'s filter names (and this farm's job fields); any other is a mistake, not
# a filter that silently matches nothing.
_KNOWN_FILTERS = set(_jobdict.FIELDS) | {"id", "status", "pgrp", "pid", "todo", "user", "reason"}


def _checked(filters):
    for key in filters:
        if key not in _KNOWN_FILTERS:
            raise error("jobinfo: unknown filter '%s'" % key)
    if isinstance(filters.get("pgrp"), str) and filters["pgrp"].strip().isdigit():
        filters["pgrp"] = int(filters["pgrp"])  # jobinfo('-pgrp', '12') as on a command line
    return filters


def _list(filters, wanted_ids):
    body = {k: filters[k] for k in _SERVER_FILTERS if isinstance(filters.get(k), (str, int)) and k in filters}
    if wanted_ids:
        body["ids"] = wanted_ids
    try:
        return request("jobs", body).get("jobs", [])
    except error as e:
        if e.status != 404 or not wanted_ids:
            raise
        # Qube! answers an unknown id with nothing; the supervisor refuses the
        # whole request, so ask for all and keep those that exist.
        body.pop("ids")
        return [j for j in request("jobs", body).get("jobs", []) if j.get("id") in wanted_ids]


def jobinfo(*args, fields=None, filters=None, id=None, ids=None, status=None, agenda=False, subjobs=False,
            callbacks=False, minid=None, maxid=None, limit=None, orderby=None, submittedAfter=None,
            submittedBefore=None, **others):
    """Jobs as qb.Job dicts: jobinfo(id=12, agenda=True), jobinfo(filters={'pgrp': 12}),
    jobinfo('-pgrp', 12). Without filters, every job the supervisor holds."""
    for key in others:
        raise error("jobinfo: '%s' is not supported by this farm" % key)
    fields = set(_as_list(fields or []))
    unknown = fields - {"agenda", "subjobs", "callbacks"}
    if unknown:
        raise error("jobinfo: unknown field(s) %s (agenda, subjobs, callbacks)" % ", ".join(sorted(unknown)))
    agenda, subjobs, callbacks = agenda or "agenda" in fields, subjobs or "subjobs" in fields, \
        callbacks or "callbacks" in fields
    filters, wanted_ids = _filters_of(args, filters, id, ids, status)
    filters = _checked(filters)
    records = [r for r in _list(filters, wanted_ids)
               if all(_matches(r, k, v) for k, v in filters.items())
               and (minid is None or r.get("id", 0) >= minid) and (maxid is None or r.get("id", 0) <= maxid)
               and (submittedAfter is None or (r.get("timesubmit") or 0) > _seconds(submittedAfter, "submittedAfter"))
               and (submittedBefore is None or (r.get("timesubmit") or 0) < _seconds(submittedBefore, "submittedBefore"))]
    if orderby:
        key, _, direction = str(orderby).strip().partition(" ")
        key = _RECORD_KEYS.get(key, key)
        records.sort(key=lambda r: (r.get(key) is None, r.get(key) if r.get(key) is not None else 0),
                     reverse=direction.strip().upper() == "DESC")
    if limit is not None:
        records = records[:int(limit)]
    if agenda or subjobs:
        records = [request("show", {"id": r["id"]}).get("job", r) for r in records]
    return [_jobdict.from_job(r, agenda, subjobs, callbacks) for r in records]


def hostinfo(fields=None, filters=None, name=None, state=None, subjobs=False):
    """Hosts as qb.Host dicts: hostinfo(name='render01'), hostinfo(state='active', subjobs=True)."""
    filters = dict(filters or {})
    if name is not None:
        filters["name"] = name
    if state is not None:
        filters["state"] = state
    subjobs = subjobs or "subjobs" in _as_list(fields or [])
    hosts = [_jobdict.from_host(h) for h in request("hosts", {}).get("hosts", [])]
    hosts = [h for h in hosts if all(_matches(h, k, v) for k, v in filters.items())]
    if subjobs:
        running = jobinfo(status="running", subjobs=True)
        for h in hosts:
            h["subjobs"] = [s for j in running for s in j.get("subjobs", [])
                            if s.get("host") == h.get("name") and s.get("status") == "running"]
    return hosts


def hist(jobid, *extraJobids):
    """History of jobs (or 'ID.SUB' for one instance's), oldest first, as Qube!'s
    dicts: jobid, subid, workid (the item's name; -1 if none), comment, stamp,
    timestamp; and this farm's event, type, host, who."""
    out = []
    for ref in (jobid,) + extraJobids:
        job_id, sub = job_ref(ref)
        for e in request("history", {"id": job_id}).get("events", []):
            if sub is not None and e.get("subid") != sub:
                continue
            t = e.get("time") or 0
            out.append({"jobid": job_id, "subid": e.get("subid", -1), "workid": e.get("work", -1),
                        "comment": e.get("text", ""), "stamp": time.ctime(t), "timestamp": int(t),
                        "event": e.get("event"), "type": e.get("type"), "host": e.get("host"),
                        "who": e.get("who")})
    return out


def _text_of(data):
    """Log bytes as the HTTP API sends them: text, base64 {"base64": ...}, or a
    byte array ({"bytes": [...]} as nlohmann::json writes a binary)."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("base64"), str):
        return base64.b64decode(data["base64"]).decode("utf-8", "replace")
    if isinstance(data, dict) and isinstance(data.get("bytes"), list):
        data = data["bytes"]
    if isinstance(data, list):
        return bytes(data).decode("utf-8", "replace")
    return ""


def output(stream, subjobids, pos=0, len=None):
    """The logs of jobs ('ID', every instance) or instances ('ID.SUB'), from byte
    `pos`, at most `len` bytes each: [{jobid, subid, data, fullsize}]."""
    out = []
    for ref in subjobids:
        job_id, sub = job_ref(ref)
        body = {"id": job_id, "stream": stream}
        if sub is not None:
            body.update(subid=sub, offset=int(pos or 0))
        for part in request("output", body).get("parts", []):
            data = _text_of(part.get("data"))
            if sub is None and pos:
                data = data[int(pos):]
            if len is not None:
                data = data[:int(len)]
            out.append({"jobid": job_id, "subid": part.get("subid"), "data": data,
                        "fullsize": part.get("size", 0)})
    return out
