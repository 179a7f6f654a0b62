"""qb: Qube!'s Python module for this farm, over the supervisor's HTTP API.

Standard library only, Python 3.7+, so it imports in the embedded interpreters of
DCC applications. Scripts written for PipelineFX Qube!'s ``qb`` run unmodified for
the functions below; docs/python.md says what differs.

    import qb
    job = qb.Job(name='frames', prototype='cmdrange',
                 package={'cmdline': 'echo QB_FRAME_NUMBER'})
    job['agenda'] = qb.genframes('1-10')
    print([j['id'] for j in qb.submit(job)])
"""
import os
import uuid

from . import _config, _jobdict
from ._config import getsupervisor, gettimeout, setsupervisor, settimeout
from ._errors import error
from ._frames import (binarySort, genchunks, genframes, genpartitions, rangechunk, rangepartition,
                      rangesplit)
from ._info import hist, hostinfo, jobinfo, output as _output
from ._objects import Callback, Host, Job, QBObject, Subjob, Work
from ._transport import current_user as _current_user, request as _request
from ._verbs import (block, blockwork, bottom, complete, completework, interrupt, kill, killwork, migrate,
                     modify, preempt, remove, requeue, requeuework, resume, retire, retirework, retry,
                     retrywork, suspend, top, unblock, unblockwork, workerlock)

__all__ = [
    "Callback", "Host", "Job", "QBObject", "Subjob", "Work", "error", "QB_TIME_EPOCH_OFFSET",
    "QB_CLIENT_DEFAULT_CONF", "submit", "jobinfo", "hostinfo", "hist", "stdout", "stderr", "ping", "version",
    "jobid", "subid", "setsupervisor", "getsupervisor", "settimeout", "gettimeout", "genframes", "genchunks",
    "genpartitions", "rangesplit", "rangechunk", "rangepartition", "binarySort", "kill", "block", "unblock",
    "suspend", "resume", "interrupt", "retry", "requeue", "complete", "retire", "preempt", "migrate", "remove",
    "top", "bottom", "modify", "retrywork", "requeuework", "completework", "retirework", "killwork",
    "blockwork", "unblockwork", "workretry", "workrequeue", "workkill", "workblock", "workunblock",
    "workcomplete", "workerlock",
]

try:  # Qube!'s back-end API (job types written in Python), when installed beside this
    from .backend import jobobj, requestwork, reportwork, reportjob
    __all__ += ["jobobj", "requestwork", "reportwork", "reportjob"]
except ImportError:
    pass

try:
    from ._version import VERSION as __version__
except ImportError:  # run from the source tree: the build writes _version.py
    __version__ = "unknown"

# Times are Unix seconds: Qube!'s offset from its own epoch is 0 here, so scripts
# that add it get the right time.
QB_TIME_EPOCH_OFFSET = 0
QB_CLIENT_DEFAULT_CONF = _config.DEFAULT_CONF

# Qube!'s deprecated names.
workretry, workrequeue, workkill, workblock, workunblock, workcomplete = (
    retrywork, requeuework, killwork, blockwork, unblockwork, completework)


def _jobs_of(jobs):
    """submit's arguments: jobs, lists of jobs, or both."""
    out = []
    for j in jobs:
        if isinstance(j, (list, tuple)):
            out += _jobs_of(j)
        else:
            out.append(j)
    return out


def submit(*jobs, **kwargs):
    """Submits jobs (dicts or qb.Job, or lists of them) as one submission: all
    are accepted or none, they share a process group (the first job's id, unless
    they name a 'pgrp' to join), and their labels resolve within it. Returns the
    submitted jobs as qb.Job, in order, with their 'id'."""
    for key in kwargs:
        if key != "deferTableCreation":  # Qube!'s database tuning: nothing to do here
            raise error("submit: '%s' is not supported by this farm" % key)
    jobs = _jobs_of(jobs)
    if not jobs:
        raise error("submit: no jobs given")
    user = _current_user()
    specs = []
    for n, job in enumerate(jobs):
        try:
            specs.append(_jobdict.to_spec(job, user))
        except error as e:
            raise error("job %d (%s): %s" % (n + 1, job.get("name") or job.get("label") or "unnamed", e)
                        if isinstance(job, dict) and len(jobs) > 1 else str(e), e.status)
    # The token makes a resent submission the same submission, never a second one.
    reply = _request("submit", {"jobs": specs, "user": user, "token": uuid.uuid4().hex})
    ids = reply.get("ids") or []
    if len(ids) != len(specs):
        raise error("submit: the supervisor answered %d id(s) for %d job(s)" % (len(ids), len(specs)))
    by_id = {j["id"]: j for j in jobinfo(ids=ids)}
    return [by_id.get(i) or Job(dict(job, id=i)) for i, job in zip(ids, jobs)]


def stdout(*subjobids, **kwargs):
    """Output of jobs ('ID') or instances ('ID.SUB'): [{jobid, subid, data, fullsize}].
    pos= skips that many bytes, len= keeps at most that many."""
    return _output("out", subjobids, **kwargs)


def stderr(*subjobids, **kwargs):
    """Error output, as stdout()."""
    return _output("err", subjobids, **kwargs)


def ping(supervisor=None, asDict=False):
    """True if the supervisor answers (asDict: its version, protocol, time and URL,
    or the error). Never raises for an unreachable supervisor."""
    saved = _config._state["supervisor"]
    try:
        if supervisor:
            setsupervisor(supervisor)
        url = _config.base_url()
        reply = dict(_request("ping", {}))
        reply.update(supervisor=url, up=True)
    except error as e:
        reply = {"supervisor": saved or "", "up": False, "error": str(e)}
    finally:
        _config._state["supervisor"] = saved
    return reply if asDict else reply["up"]


def version():
    """This module's version (the farm's release it came with)."""
    return __version__


def jobid():
    """The job this process runs for ($QBJOBID, set in jobs and callbacks), or 0."""
    try:
        return int(os.environ.get("QBJOBID", "0"))
    except ValueError:
        return 0


def subid():
    """The instance this process runs in ($QBSUBID), or -1."""
    try:
        return int(os.environ.get("QBSUBID", "-1"))
    except ValueError:
        return -1


