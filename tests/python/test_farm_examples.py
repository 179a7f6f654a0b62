"""Against a real farm, scripts written the way Qube!'s documented examples are:
build job dicts, submit cmdline and cmdrange jobs with qb.genframes, chain
dependencies by id and by label, steer jobs and work, lock the worker."""
import os
import sys

import pytest

try:
    import qb
except ImportError:
    sys.path.append(os.path.join(os.environ.get("QBDIR", "/opt/qube"), "api", "python"))
    import qb

from farm import wait_until

DONE = ("complete", "failed", "killed")


def wait_for_status(job_id, statuses=DONE, timeout=60):
    """The job's record once its status is one of `statuses`."""
    def ended():
        jobs = qb.jobinfo(id=job_id, agenda=True, subjobs=True)
        return jobs[0] if jobs and jobs[0]["status"] in statuses else None
    return wait_until(ended, timeout, "job %d to be %s" % (job_id, "/".join(statuses)))


def all_output(job_id):
    return "".join(part["data"] for part in qb.stdout(job_id))


def test_cmdline_job(farm):
    job = qb.Job()
    job["name"] = "test submit"
    job["prototype"] = "cmdline"
    job["package"] = {"cmdline": "echo hello from qb"}
    submitted = qb.submit(job)
    assert len(submitted) == 1 and isinstance(submitted[0], qb.Job)
    done = wait_for_status(submitted[0]["id"])
    assert done["status"] == "complete" and done["name"] == "test submit"
    assert "hello from qb" in all_output(done["id"])


def test_cmdrange_job_with_genframes(farm):
    job = qb.Job(name="test cmdrange submit", prototype="cmdrange",
                 package={"cmdline": 'echo "Frame QB_FRAME_NUMBER"', "padding": 0, "range": "1-4"})
    job["agenda"] = qb.genframes(job["package"]["range"])
    job["cpus"] = 2
    job_id = qb.submit([job])[0]["id"]
    done = wait_for_status(job_id)
    assert done["status"] == "complete"
    assert [w["name"] for w in done["agenda"]] == ["1", "2", "3", "4"]
    assert all(w["status"] == "complete" for w in done["agenda"])
    assert done["todo"] == 4 and done["todotally"]["complete"] == 4
    out = all_output(job_id)
    assert all("Frame %d" % f in out for f in range(1, 5))


def test_dependencies_by_id_and_by_label_in_one_submit(farm):
    first = qb.submit(qb.Job(name="first", prototype="cmdline", package={"cmdline": "sleep 0.5"}))[0]
    second = qb.Job(name="second", label="second", prototype="cmdline", package={"cmdline": "true"})
    second["dependency"] = "%i" % first.id()  # Qube!'s shortcut: a bare id
    third = qb.Job(name="third", label="third", prototype="cmdline", package={"cmdline": "true"},
                   dependency="link-complete-job-second")
    jobs = qb.submit([second, third])
    assert jobs[0]["pgrp"] == jobs[1]["pgrp"] == jobs[0]["id"]  # one submission, one process group
    assert jobs[1]["dependency"] == "link-complete-job-%d" % jobs[0]["id"]  # the label resolved
    done = [wait_for_status(j["id"]) for j in (first, jobs[0], jobs[1])]
    assert [j["status"] for j in done] == ["complete"] * 3
    assert done[0]["timecomplete"] <= done[1]["timestart"] and done[1]["timecomplete"] <= done[2]["timestart"]
    assert [j["id"] for j in qb.jobinfo("-pgrp", jobs[0]["id"])] == [jobs[0]["id"], jobs[1]["id"]]


def test_a_bad_label_refuses_the_whole_submission(farm):
    before = {j["id"] for j in qb.jobinfo()}
    ok = {"name": "fine", "prototype": "cmdline", "package": {"cmdline": "true"}}
    bad = {"name": "bad", "prototype": "cmdline", "package": {"cmdline": "true"},
           "dependency": "link-complete-job-nosuchlabel"}
    with pytest.raises(qb.error, match="nosuchlabel") as raised:
        qb.submit([ok, bad])
    assert raised.value.status == 400
    assert {j["id"] for j in qb.jobinfo()} == before


def test_blocked_job_unblock_modify_and_history(farm):
    job = qb.submit({"name": "held", "prototype": "cmdline", "package": {"cmdline": "true"},
                     "status": "blocked"})[0]
    assert job["status"] == "blocked"
    assert qb.modify({"priority": 5, "notes": "changed"}, job["id"]) == [job["id"]]
    assert qb.jobinfo(id=job["id"])[0]["priority"] == 5
    assert qb.unblock(job["id"])
    assert wait_for_status(job["id"])["status"] == "complete"
    events = qb.hist(job["id"])
    assert events and all(e["jobid"] == job["id"] for e in events)
    assert qb.remove(job["id"]) == [job["id"]]
    assert qb.jobinfo(id=job["id"]) == []


def test_kill_a_running_job(farm):
    job = qb.submit({"name": "long", "prototype": "cmdline", "package": {"cmdline": "sleep 60"}})[0]
    wait_for_status(job["id"], ("running",))
    killed = qb.kill(job["id"])
    assert killed and all(k.split(".")[0] == str(job["id"]) for k in killed)
    assert wait_for_status(job["id"])["status"] == "killed"
    assert qb.kill(job["id"]) == [] and "already" in qb.error()


def test_retrywork_on_a_failed_frame(farm):
    job = qb.Job(name="fails on 2", prototype="cmdrange",
                 package={"cmdline": "test QB_FRAME_NUMBER -ne 2"}, agenda=qb.genframes("1-3"))
    job_id = qb.submit(job)[0]["id"]
    done = wait_for_status(job_id)
    assert done["status"] == "failed"
    assert {w["name"]: w["status"] for w in done["agenda"]} == {"1": "complete", "2": "failed", "3": "complete"}
    assert qb.retrywork("%d:2" % job_id) == ["%d:2" % job_id]
    again = wait_for_status(job_id)
    assert [w["count"] for w in again["agenda"] if w["name"] == "2"] == [2]


def test_blockwork_killwork_and_unblockwork(farm):
    job = qb.Job(name="items", prototype="cmdrange", package={"cmdline": "sleep 30"}, agenda=qb.genframes("1-3"),
                 status="blocked")
    job_id = qb.submit(job)[0]["id"]
    assert qb.blockwork("%d:2" % job_id) == ["%d:2" % job_id]
    assert qb.killwork("%d:3" % job_id) == ["%d:3" % job_id]
    items = {w["name"]: w["status"] for w in qb.jobinfo(id=job_id, agenda=True)[0]["agenda"]}
    assert items == {"1": "pending", "2": "blocked", "3": "killed"}
    assert qb.unblockwork("%d:2" % job_id) == ["%d:2" % job_id]
    items = {w["name"]: w["status"] for w in qb.jobinfo(id=job_id, agenda=True)[0]["agenda"]}
    assert items["2"] == "pending"
    qb.kill(job_id)


def test_hostinfo_and_workerlock(farm):
    hosts = qb.hostinfo()
    assert farm.worker_name in [h["name"] for h in hosts]
    assert all(isinstance(h, qb.Host) for h in hosts)
    try:
        assert qb.workerlock(name=farm.worker_name, lock=True) == [farm.worker_name]
        assert qb.hostinfo(name=farm.worker_name)[0]["state"] == "locked"
    finally:
        qb.workerlock(name=farm.worker_name, lock=False)
    assert qb.hostinfo(name=farm.worker_name)[0]["state"] == "active"


def test_ping_and_errors(farm):
    reply = qb.ping(asDict=True)
    assert reply["up"] is True and reply["version"]
    with pytest.raises(qb.error) as raised:
        qb.hist(999999)
    assert raised.value.status == 404


def test_python_callback_kills_the_rest_of_its_process_group(farm):
    code = ("import qb\n"
            "me = qb.jobid()\n"
            "pgrp = qb.jobinfo(id=me)[0]['pgrp']\n"
            "qb.kill(*[j['id'] for j in qb.jobinfo('-pgrp', pgrp) if j['id'] != me and j['status'] not in "
            "('complete', 'failed', 'killed')])\n")
    failing = qb.Job(name="fails", label="fails", prototype="cmdline", package={"cmdline": "false"},
                     callbacks=[{"triggers": "failed-job-self", "language": "python", "code": code}])
    sibling = qb.Job(name="sibling", label="sibling", prototype="cmdline", package={"cmdline": "sleep 60"})
    jobs = qb.submit([failing, sibling])
    assert wait_for_status(jobs[0]["id"])["status"] == "failed"
    assert wait_for_status(jobs[1]["id"])["status"] == "killed"


def test_mail_and_qube_callbacks(farm):
    """A mail callback with no code mails the job's mailaddress; a held job carries
    complete-job-<id> with unblock-self, as Qube!'s examples chain jobs."""
    first = qb.submit(qb.Job(name="first", prototype="cmdline", package={"cmdline": "sleep 1"},
                             mailaddress="wrangler@example.com",
                             callbacks=[{"triggers": "done-job-self", "language": "mail"}]))[0]
    held = qb.Job(name="held", prototype="cmdline", package={"cmdline": "true"}, status="blocked",
                  callbacks=[{"triggers": "complete-job-%d" % first["id"], "language": "qube",
                              "code": "unblock-self"}])
    held_id = qb.submit(held)[0]["id"]
    assert qb.jobinfo(id=held_id)[0]["status"] == "blocked"
    assert wait_for_status(held_id)["status"] == "complete"
    callbacks = qb.jobinfo(id=first["id"], callbacks=True)[0]["callbacks"]
    assert [(cb["language"], cb["code"]) for cb in callbacks] == [("mail", "wrangler@example.com")]
    # This farm has no mail relay: the callback ran and says so (tests/integration
    # test_pipelines delivers one to a local SMTP sink).
    wait_until(lambda: [h for h in qb.hist(first["id"]) if h["comment"].startswith("mail callback")] or None,
               30, "the mail callback's outcome in the history")


LOCK_UNTIL_SIGTERM = r'''
import os, signal, sys, time
try:
    import qb
except ImportError:
    sys.path.append(os.path.join(os.environ["QBDIR"], "api", "python"))
    import qb

name = sys.argv[1]
qb.workerlock(name=name, lock=True)

def unlock(signum, frame):
    qb.workerlock(name=name, lock=False)
    sys.exit(0)

signal.signal(signal.SIGTERM, unlock)
print("locked", flush=True)
while True:
    time.sleep(0.2)
'''


def test_a_script_locks_the_local_worker_until_sigterm(farm, tmp_path):
    import signal
    import subprocess
    script = tmp_path / "lock_until_sigterm.py"
    script.write_text(LOCK_UNTIL_SIGTERM)
    env = dict(os.environ, QBDIR=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(qb.__file__)))))
    env.pop("PYTHONPATH", None)  # found through $QBDIR, as on a workstation
    proc = subprocess.Popen([sys.executable, str(script), farm.worker_name], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert qb.hostinfo(name=farm.worker_name)[0]["state"] == "locked"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert qb.hostinfo(name=farm.worker_name)[0]["state"] == "active"
    finally:
        if proc.poll() is None:
            proc.kill()
        qb.workerlock(name=farm.worker_name, lock=False)
