"""Qube!'s job dicts and this farm's records, both ways.

to_spec(): a job dict as Qube!'s scripts build it -> the farm's JobSpec (the
`submit` body's job, docs/protocol.md). Every key is either mapped or refused
with its name: a field that would be silently dropped is a job that silently
runs differently.

from_job() / from_host(): the farm's records (qb show --json, qb hosts --json)
-> qb.Job / qb.Host with Qube!'s key names. The farm's own keys that Qube! has
no name for are kept as they are.
"""
import numbers

from ._errors import error
from ._objects import Callback, Host, Job, Subjob, Work


def _text(key, value):
    if not isinstance(value, str):
        raise error("job field '%s' must be a string" % key)
    return value


def _integer(key, value):
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise error("job field '%s' must be an integer" % key)
    return int(value)


def _number(key, value):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error("job field '%s' must be a number of seconds" % key)
    return value


def _boolean(key, value):
    if not isinstance(value, bool):
        raise error("job field '%s' must be True or False" % key)
    return value


def _words(key, value):
    """Qube!'s comma-separated strings (hosts, groups, flagsstring ...), or a list."""
    if isinstance(value, str):
        return [w.strip() for w in value.split(",") if w.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(w, str) for w in value):
        return list(value)
    raise error("job field '%s' must be a comma-separated string or a list of strings" % key)


def _mapping(key, value):
    if not isinstance(value, dict):
        raise error("job field '%s' must be a dict" % key)
    return dict(value)


def _env(key, value):
    value = _mapping(key, value)
    for name, v in value.items():
        if not isinstance(name, str) or not isinstance(v, str):
            raise error("job field '%s' must map names to strings (%r)" % (key, name))
    return value


def _dependency(key, value):
    """Qube!'s dependency: 'link-complete-job-12,...'; a bare id means
    link-complete-job-<id>. A list is joined with commas (all must hold)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(value)
    parts = []
    for part in _words(key, value):
        parts.append("link-complete-job-" + part if part.isdigit() else part)
    return ",".join(parts)


# Qube! key -> (JobSpec key, converter). Several Qube! names may mean one field.
FIELDS = {
    "name": ("name", _text),
    "prototype": ("type", _text),
    "type": ("type", _text),
    "cpus": ("cpus", _integer),
    "priority": ("priority", _integer),
    "label": ("label", _text),
    "package": ("package", _mapping),
    "env": ("env", _env),
    "cwd": ("cwd", _text),
    "dependency": ("dependency", _dependency),
    "hosts": ("hosts", _words),
    "groups": ("groups", _words),
    "omithosts": ("omithosts", _words),
    "omitgroups": ("omitgroups", _words),
    "cluster": ("cluster", _text),
    "restrictions": ("restrictions", _text),
    "requirements": ("requirements", _text),
    "reservations": ("reservations", _text),
    "hostorder": ("hostorder", _text),
    "retrywork": ("retrywork", _integer),
    "retrywork_delay": ("retryworkdelay", _number),
    "retrysubjob": ("retrysubjob", _integer),
    "timelimit": ("timelimit", _number),
    "timeout": ("timelimit", _number),
    "agenda_timelimit": ("agendatimelimit", _number),
    "agendatimeout": ("agendatimelimit", _number),
    "agenda_timeout": ("agendatimelimit", _number),
    "max_cpus": ("max_cpus", _integer),
    "flagsstring": ("flags", _words),
    "mailaddress": ("mail", _words),
    "notes": ("description", _text),
    "account": ("account", _text),
    "kind": ("kind", _text),
    "domain": ("domain", _text),
    "preflights": ("preflights", _words),
    "postflights": ("postflights", _words),
    "agenda_preflights": ("agenda_preflights", _words),
    "agenda_postflights": ("agenda_postflights", _words),
    "user": ("user", _text),
    # This farm's own names (qbsub's options), for scripts written for it.
    "range": ("range", _text),
    "chunk": ("chunk", _integer),
    "partitions": ("partitions", _integer),
    "padding": ("padding", _integer),
    "retrydifferenthost": ("retrydifferenthost", _boolean),
    "services": ("services", _words),
}

# Keys handled on their own below, besides FIELDS.
_SPECIAL = ("agenda", "status", "callbacks", "pgrp", "pid")
_CALLBACK_KEYS = ("triggers", "language", "code")
_WORK_KEYS = ("name", "status")


def _agenda(value):
    """Work dicts (genframes), or plain names, -> item names."""
    if not isinstance(value, (list, tuple)):
        raise error("job field 'agenda' must be a list of Work (qb.genframes) or names")
    names = []
    for n, work in enumerate(value):
        if isinstance(work, (str, int)) and not isinstance(work, bool):
            names.append(str(work))
            continue
        if not isinstance(work, dict) or "name" not in work:
            raise error("agenda[%d] must be a Work with a 'name'" % n)
        for key, v in work.items():
            if key not in _WORK_KEYS and v not in (None, "", {}, []):
                raise error("agenda[%d]: field '%s' is not supported (a Work item has %s)"
                            % (n, key, ", ".join(_WORK_KEYS)))
        if work.get("status") not in (None, "", "pending"):
            raise error("agenda[%d]: an item is submitted pending, not '%s'" % (n, work["status"]))
        names.append(str(work["name"]))
    return names


def _callbacks(value, mail):
    if not isinstance(value, (list, tuple)):
        raise error("job field 'callbacks' must be a list of dicts with triggers, language, code")
    out = []
    for n, cb in enumerate(value):
        if not isinstance(cb, dict):
            raise error("callbacks[%d] must be a dict with triggers, language, code" % n)
        for key, v in cb.items():
            if key not in _CALLBACK_KEYS and v not in (None, "", 0):
                raise error("callbacks[%d]: field '%s' is not supported (a callback has %s)"
                            % (n, key, ", ".join(_CALLBACK_KEYS)))
        triggers = cb.get("triggers", "")
        if isinstance(triggers, (list, tuple)):  # Qube!'s list of events: any of them
            triggers = " || ".join(triggers)
        language = _text("callbacks[%d].language" % n, cb.get("language", "qube"))
        code = cb.get("code") or ""
        if language == "mail" and not code:
            # Qube!'s mail callback sends to the job's mailaddress.
            if not mail:
                raise error("callbacks[%d]: a mail callback needs the job's 'mailaddress'" % n)
            code = ",".join(mail)
        out.append({"triggers": _text("callbacks[%d].triggers" % n, triggers), "language": language,
                    "code": _text("callbacks[%d].code" % n, code)})
    return out


def to_spec(job, user=""):
    """A Qube! job dict -> a `submit` job: JobSpec fields plus pgrp/pid (the family)."""
    if not isinstance(job, dict):
        raise error("a job must be a dict (qb.Job), not %s" % type(job).__name__)
    spec, given = {}, {}
    for key, value in job.items():
        if value is None:
            continue
        if key in FIELDS:
            target, convert = FIELDS[key]
            converted = convert(key, value)
            if target in spec and spec[target] != converted:
                raise error("job fields '%s' and '%s' disagree" % (given[target], key))
            spec[target], given[target] = converted, key
        elif key not in _SPECIAL:
            raise error("job field '%s' is not supported by this farm" % key)
    if job.get("agenda") is not None:
        spec["agenda"] = _agenda(job["agenda"])
    status = job.get("status")
    if status not in (None, "", "pending", "blocked"):
        raise error("job field 'status' may be 'pending' or 'blocked' at submission, not %r" % (status,))
    spec["blocked"] = status == "blocked"
    if job.get("callbacks") is not None:
        spec["callbacks"] = _callbacks(job["callbacks"], spec.get("mail", []))
    for key in ("pgrp", "pid"):
        if job.get(key) not in (None, 0):
            spec[key] = _integer(key, job[key])
    if "type" not in spec:
        # As qbsub: a job with frames is a cmdrange, else a cmdline.
        spec["type"] = "cmdrange" if spec.get("agenda") or spec.get("range") else "cmdline"
    if not spec.get("name"):
        spec["name"] = spec.get("label") or spec["type"]
    if user and not spec.get("user"):
        spec["user"] = user
    return spec


# Fields qb.modify may change (the supervisor's modifiable fields under Qube!'s names).
MODIFIABLE = ("name", "priority", "cpus", "max_cpus", "retrywork", "retrywork_delay", "retrysubjob",
              "timelimit", "timeout", "agenda_timelimit", "agendatimeout", "agenda_timeout", "env", "hosts",
              "omithosts", "groups", "omitgroups", "services", "requirements", "reservations", "restrictions",
              "cluster", "flagsstring", "mailaddress", "notes", "label", "dependency", "retrydifferenthost")


def to_modify_set(params):
    """qb.modify's dict -> the `modify` request's `set` (JobSpec names)."""
    if not isinstance(params, dict) or not params:
        raise error("modify: give a dict of fields to change, e.g. {'priority': 10}")
    out, given = {}, {}
    for key, value in params.items():
        if key not in MODIFIABLE:
            raise error("modify: field '%s' cannot be changed on this farm" % key)
        target, convert = FIELDS[key]
        converted = convert(key, value)
        if target in out and out[target] != converted:
            raise error("modify: fields '%s' and '%s' disagree" % (given[target], key))
        out[target], given[target] = converted, key
    return out


# ------------------------------------------------------------ farm -> Qube!

# The farm's key -> Qube!'s name for it.
_RENAMED = {"type": "prototype", "retryworkdelay": "retrywork_delay", "agendatimelimit": "agenda_timelimit",
            "description": "notes"}
_JOINED = {"hosts": "hosts", "groups": "groups", "omithosts": "omithosts", "omitgroups": "omitgroups",
           "flags": "flagsstring", "mail": "mailaddress", "preflights": "preflights",
           "postflights": "postflights", "agenda_preflights": "agenda_preflights",
           "agenda_postflights": "agenda_postflights"}
_TIMES = ("timesubmit", "timestart", "timecomplete")


def _time(value):
    """Unix seconds as Qube!'s integers (QB_TIME_EPOCH_OFFSET is 0); 0 if not yet."""
    return int(value) if isinstance(value, (int, float)) else 0


def _work(item, job_id):
    w = Work(item)
    w["pid"] = job_id
    w["count"] = item.get("attempts", 0)
    if item.get("status") == "skipped":  # completed by hand: Qube!'s retired work is complete
        w["status"] = "complete"
    for key in _TIMES[1:]:
        w[key] = _time(item.get(key))
    return w


def _subjob(instance, job_id):
    s = Subjob(instance)
    s["id"] = instance.get("subid")
    s["pid"] = job_id
    for key in _TIMES[1:]:
        s[key] = _time(instance.get(key))
    return s


def from_job(record, agenda=False, subjobs=False, callbacks=False):
    """A farm job record -> qb.Job under Qube!'s names."""
    job = Job()
    for key, value in record.items():
        if key in _RENAMED:
            job[_RENAMED[key]] = value
        elif key in _JOINED:
            job[_JOINED[key]] = ",".join(value) if isinstance(value, list) else value
        elif key in _TIMES:
            job[key] = _time(value)
        elif key not in ("agenda", "instances", "callbacks"):
            job[key] = value
    progress = record.get("progress") or {}
    job["todo"] = progress.get("total", 0)
    job["todotally"] = {k: v for k, v in progress.items() if k != "total"}
    if agenda:
        job["agenda"] = [_work(i, record.get("id")) for i in record.get("agenda", [])]
    if subjobs:
        job["subjobs"] = [_subjob(s, record.get("id")) for s in record.get("instances", [])]
    if callbacks:
        job["callbacks"] = [Callback(c) for c in record.get("callbacks", [])]
    return job


def from_host(record):
    host = Host(record)
    for key in ("groups", "jobtypes"):
        if isinstance(host.get(key), list):
            host[key] = ",".join(host[key])
    return host
