"""Steering: the job verbs (kill, block, ...) and the work verbs (retrywork, ...).

One request per call, as qb's verbs send it ({ids, user[, work][, set]}); the
reply lists what was acted on and the errors. Errors for some of the jobs do not
raise (Qube!'s verbs return what they affected); qb.error() returns them.
"""
import socket

from . import _jobdict
from ._errors import error, remember
from ._info import job_ref
from ._transport import current_user, request

# The reply's key for each request type.
_DONE = {"kill": "killed", "block": "blocked", "unblock": "unblocked", "suspend": "suspended",
         "resume": "resumed", "interrupt": "interrupted", "remove": "removed", "top": "moved",
         "bottom": "moved", "modify": "modified", "retry": "retried", "requeue": "requeued",
         "complete": "completed"}


def steer(type_, ids, **extra):
    """Sends one verb; returns the ids of the jobs it acted on."""
    body = {"ids": ids, "user": current_user()}
    body.update(extra)
    reply = request(type_, body)
    errors = reply.get("errors") or []
    remember("; ".join(errors))
    done = reply.get(_DONE[type_]) or []
    return [d["id"] if isinstance(d, dict) else d for d in done]


def _job_ids(verb, refs):
    ids = []
    for ref in refs:
        for one in (ref if isinstance(ref, (list, tuple)) else [ref]):
            job_id, sub = job_ref(one)
            if sub is not None:
                raise error("%s: '%s': this farm steers whole jobs, not one instance" % (verb, one))
            ids.append(job_id)
    if not ids:
        raise error("%s: give at least one job id" % verb)
    return ids


def _subjob_ids(job_ids):
    """Qube!'s answer for instance-level verbs: 'ID.SUB' for each instance of the
    jobs acted on; a job that has none yet is 'ID'."""
    out = []
    for job_id in job_ids:
        instances = request("show", {"id": job_id}).get("job", {}).get("instances", [])
        out += ["%d.%d" % (job_id, s["subid"]) for s in instances] or [str(job_id)]
    return out


def _job_verb(verb, type_, answer=lambda ids: ids, returns="the ids of the jobs acted on"):
    """qb.<verb>(jobid, *extraJobids): one `type_` request; `answer` turns the ids
    of the jobs acted on into what Qube!'s verb returns."""
    def run(jobid, *extraJobids):
        return answer(steer(type_, _job_ids(verb, (jobid,) + extraJobids)))
    run.__name__ = verb
    run.__doc__ = "qb.%s(jobid, *extraJobids): %s (request '%s')." % (verb, returns, type_)
    return run


def _subjob_verb(verb, type_):
    return _job_verb(verb, type_, _subjob_ids, "the 'ID.SUB' of the jobs acted on")


kill, block, unblock, suspend, resume, interrupt, retry, requeue, complete = (
    _subjob_verb(v, v) for v in ("kill", "block", "unblock", "suspend", "resume", "interrupt", "retry",
                                 "requeue", "complete"))
retire = complete
# This farm's interrupt sends running work back to pending at once; the job then
# runs wherever the scheduler places it. Qube!'s preempt (after the current item)
# and migrate (to another host) end the same way, a little sooner.
preempt = _subjob_verb("preempt", "interrupt")
migrate = _subjob_verb("migrate", "interrupt")
remove, top, bottom = (_job_verb(v, v) for v in ("remove", "top", "bottom"))


def modify(modifyParamDict, jobid, *extrajobids):
    """qb.modify({'priority': 10}, 12, 13): the ids of the jobs changed."""
    changes = _jobdict.to_modify_set(modifyParamDict)
    return steer("modify", _job_ids("modify", (jobid,) + extrajobids), set=changes)


def _work_ids(verb, refs):
    """'12:1-5' -> {12: ['1-5']}, in the order given."""
    by_job = {}
    for ref in refs:
        text = str(ref)
        head, colon, work = text.partition(":")
        if not colon or not work.strip():
            raise error("%s: '%s' is not a work id ('JOBID:RANGE', e.g. '12:1-5')" % (verb, text))
        job_id, sub = job_ref(head)
        if sub is not None:
            raise error("%s: '%s' is not a work id ('JOBID:RANGE')" % (verb, text))
        by_job.setdefault(job_id, []).append((text, work.strip()))
    if not by_job:
        raise error("%s: give at least one work id ('JOBID:RANGE')" % verb)
    return by_job


def _work_verb(verb, type_):
    def run(workid, *extraWorkids):
        affected = []
        for job_id, works in _work_ids(verb, (workid,) + extraWorkids).items():
            if steer(type_, [job_id], work=",".join(w for _, w in works)):
                affected += [text for text, _ in works]
        return affected
    run.__name__ = verb
    run.__doc__ = ("qb.%s('JOBID:RANGE', ...): the work ids given whose job had items acted on "
                   "(request '%s' with work)." % (verb, type_))
    return run


retrywork = _work_verb("retrywork", "retry")
requeuework = _work_verb("requeuework", "requeue")
completework = retirework = _work_verb("completework", "complete")
killwork = _work_verb("killwork", "kill")
blockwork = _work_verb("blockwork", "block")
unblockwork = _work_verb("unblockwork", "unblock")


def _locking(lockingString, lock, purge):
    """Qube!'s locking string, as far as this farm locks: whole hosts, and purging."""
    for part in (p.strip() for p in (lockingString or "").split(",")):
        if not part:
            continue
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key == "host.processor_all" and value in ("0", "1"):
            lock = value == "1"
        elif key == "host.lock_mode" and value == "aggressive":
            purge = True
        else:
            raise error("workerlock: '%s' is not supported (this farm locks whole hosts: "
                        "host.processor_all=0|1, host.lock_mode=aggressive)" % part)
    if lock is None:
        raise error("workerlock: say lock=True or lock=False (or lockingString='host.processor_all=1')")
    return lock, purge


def workerlock(filters=None, lockingString="", name=None, lock=None, purge=False):
    """Locks (lock=True) or unlocks workers; purge=True also stops what runs there.
    Without a name, this machine. Returns the names of the hosts changed."""
    filters = dict(filters or {})
    for key in filters:
        if key != "name":
            raise error("workerlock: filter '%s' is not supported (only 'name')" % key)
    names = name if name is not None else filters.get("name") or socket.gethostname()
    names = list(names) if isinstance(names, (list, tuple)) else [names]
    lock, purge = _locking(lockingString, lock, purge)
    body = {"hosts": names, "user": current_user()}
    if lock:
        body["purge"] = bool(purge)
    reply = request("lock" if lock else "unlock", body)
    remember("; ".join(reply.get("errors") or []))
    return reply.get("locked" if lock else "unlocked") or []
