"""Submitting, listing and steering against a fake supervisor: what each call
sends, and what it returns in Qube!'s shapes."""
import pytest

import qb

JOB = {"id": 12, "name": "a", "type": "cmdline", "status": "pending", "pgrp": 12, "user": "alice",
       "progress": {"total": 0}, "hosts": [], "timesubmit": 10.0}


def record(**fields):
    return dict(JOB, **fields)


def test_submit_is_one_submission_and_returns_jobs_with_ids(fake):
    fake.replies["submit"] = {"ids": [12, 13], "warnings": []}
    fake.replies["jobs"] = {"jobs": [record(id=12, label="a"), record(id=13, label="b", pgrp=12)]}
    a = qb.Job(name="a", label="a", prototype="cmdline", package={"cmdline": "true"})
    b = {"name": "b", "label": "b", "package": {"cmdline": "true"}, "dependency": "link-complete-job-a"}
    jobs = qb.submit([a, b])
    assert fake.types() == ["submit", "jobs"]
    sent = fake.body("submit")
    assert [j["name"] for j in sent["jobs"]] == ["a", "b"] and sent["token"]
    assert sent["jobs"][1]["dependency"] == "link-complete-job-a"
    assert [j["id"] for j in jobs] == [12, 13] and jobs[1]["pgrp"] == 12
    assert all(isinstance(j, qb.Job) for j in jobs) and jobs[0].id() == 12
    assert fake.body("jobs")["ids"] == [12, 13]


def test_submit_refuses_before_sending_anything(fake):
    with pytest.raises(qb.error, match="job 2 .*'prod_shot' is not supported"):
        qb.submit({"name": "ok"}, {"name": "bad", "prod_shot": "s"})
    with pytest.raises(qb.error, match="'priority' is not supported"):
        qb.submit({"name": "x"}, priority=3)
    with pytest.raises(qb.error, match="no jobs"):
        qb.submit([])
    assert fake.requests == []


def test_jobinfo_filters_on_the_supervisor_and_here(fake):
    fake.replies["jobs"] = {"jobs": [record(id=1, priority=5), record(id=2, priority=9), record(id=3, priority=5)]}
    jobs = qb.jobinfo(filters={"pgrp": 12, "priority": 5}, status="pending")
    assert [j["id"] for j in jobs] == [1, 3]
    assert fake.body("jobs") == {"pgrp": 12, "status": "pending"}
    assert [j["id"] for j in qb.jobinfo("-pgrp", 12, orderby="id DESC", limit=2)] == [3, 2]
    assert fake.body("jobs") == {"pgrp": 12}
    assert [j["id"] for j in qb.jobinfo(minid=2, maxid=2)] == [2]
    qb.jobinfo("-pgrp", "12")
    assert fake.body("jobs") == {"pgrp": 12}
    with pytest.raises(qb.error, match="unknown filter 'colour'"):
        qb.jobinfo(filters={"colour": "red"})


def test_jobinfo_by_id_with_agenda_asks_for_each_job(fake):
    fake.replies["jobs"] = {"jobs": [record(id=5)]}
    fake.replies["show"] = lambda body: {"job": record(id=body["id"], agenda=[{"name": "1", "status": "pending"}],
                                                       instances=[])}
    jobs = qb.jobinfo(id=5, agenda=True, subjobs=True)
    assert fake.body("jobs")["ids"] == [5] and fake.body("show") == {"id": 5}
    assert jobs[0]["agenda"][0]["name"] == "1" and jobs[0]["subjobs"] == []


def test_jobinfo_of_an_unknown_id_is_empty_as_in_qube(fake):
    fake.replies["jobs"] = lambda body: (404, {"error": "no job 99", "status": 404}) if "ids" in body \
        else {"jobs": [record(id=5)]}
    assert qb.jobinfo(id=99) == []
    with pytest.raises(qb.error, match="unknown field"):
        qb.jobinfo(fields=["stats"])
    with pytest.raises(qb.error, match="'updatedAfter' is not supported"):
        qb.jobinfo(updatedAfter=5)


def test_job_verbs_send_ids_and_user_and_return_subjob_ids(fake):
    fake.replies["kill"] = {"killed": [12, 13], "errors": []}
    fake.replies["show"] = lambda body: {"job": record(id=body["id"], instances=[{"subid": 0}, {"subid": 1}]
                                                       if body["id"] == 12 else [])}
    assert qb.kill(12, "13") == ["12.0", "12.1", "13"]
    assert fake.body("kill")["ids"] == [12, 13] and "user" in fake.body("kill")
    with pytest.raises(qb.error, match="whole jobs"):
        qb.kill("12.0")
    with pytest.raises(qb.error, match="not a job id"):
        qb.block("twelve")


def test_preempt_and_migrate_interrupt(fake):
    fake.replies["interrupt"] = {"interrupted": [4], "errors": []}
    fake.replies["show"] = {"job": record(id=4, instances=[{"subid": 0}])}
    assert qb.preempt(4) == ["4.0"] and qb.migrate(4) == ["4.0"]
    assert fake.types().count("interrupt") == 2


def test_partial_failures_return_what_was_done_and_keep_the_reason(fake):
    fake.replies["remove"] = {"removed": [3], "errors": ["job 4 is running: kill it first"]}
    assert qb.remove(3, 4) == [3]
    assert qb.error() == "job 4 is running: kill it first"


def test_top_bottom_modify_return_job_ids(fake):
    fake.replies["top"] = {"moved": [3], "errors": []}
    fake.replies["modify"] = {"modified": [3, 4], "errors": []}
    assert qb.top(3) == [3]
    assert qb.modify({"priority": 10, "timeout": 30}, 3, 4) == [3, 4]
    assert fake.body("modify")["set"] == {"priority": 10, "timelimit": 30}


def test_work_verbs_group_ranges_by_job(fake):
    fake.replies["retry"] = lambda body: {"retried": [{"id": body["ids"][0], "items": 2}], "errors": []}
    fake.replies["requeue"] = {"requeued": [], "errors": ["job 8 has no failed or killed items"]}
    assert qb.retrywork("7:1-2", "7:5", "9:3") == ["7:1-2", "7:5", "9:3"]
    sent = [b for t, b, _ in fake.requests if t == "retry"]
    assert [(b["ids"], b["work"]) for b in sent] == [([7], "1-2,5"), ([9], "3")]
    assert qb.requeuework("8:1") == [] and "no failed" in qb.error()
    with pytest.raises(qb.error, match="not a work id"):
        qb.retrywork("7")
    fake.replies["block"] = lambda body: {"blocked": [{"id": body["ids"][0], "items": 1}], "errors": []}
    assert qb.blockwork("7:4") == ["7:4"]
    assert fake.body("block") ["work"] == "4"


def test_workerlock(fake):
    fake.replies["lock"] = {"locked": ["w1"], "errors": []}
    fake.replies["unlock"] = {"unlocked": ["w1"], "errors": []}
    assert qb.workerlock(name="w1", lock=True, purge=True) == ["w1"]
    assert fake.body("lock")["hosts"] == ["w1"] and fake.body("lock")["purge"] is True
    assert qb.workerlock(lockingString="host.processor_all=0", name="w1") == ["w1"]
    with pytest.raises(qb.error, match="host.processor_0=1"):
        qb.workerlock(lockingString="host.processor_0=1", name="w1")
    with pytest.raises(qb.error, match="lock=True or lock=False"):
        qb.workerlock(name="w1")


def test_hostinfo_and_hist_in_qube_shapes(fake):
    fake.replies["hosts"] = {"hosts": [{"name": "w1", "state": "active", "groups": ["a", "b"]},
                                       {"name": "w2", "state": "down", "groups": []}]}
    hosts = qb.hostinfo(state="active")
    assert [h["name"] for h in hosts] == ["w1"] and hosts[0]["groups"] == "a,b"
    assert isinstance(hosts[0], qb.Host)
    fake.replies["history"] = {"events": [{"job": 3, "time": 100.5, "event": "submitted", "type": "job",
                                           "text": "submitted by alice"},
                                          {"job": 3, "time": 101, "event": "started", "type": "subjob",
                                           "text": "on w1", "subid": 0, "host": "w1"}]}
    events = qb.hist(3)
    assert [(e["jobid"], e["subid"], e["comment"], e["timestamp"]) for e in events] == \
        [(3, -1, "submitted by alice", 100), (3, 0, "on w1", 101)]
    assert [e["subid"] for e in qb.hist("3.0")] == [0]


def test_stdout_per_instance_with_offsets(fake):
    fake.replies["output"] = lambda body: {"parts": [{"subid": body.get("subid", 0), "size": 11,
                                                      "data": "hello world"[body.get("offset", 0):]}]}
    assert qb.stdout("5.0", pos=6) == [{"jobid": 5, "subid": 0, "data": "world", "fullsize": 11}]
    assert fake.body("output") == {"id": 5, "stream": "out", "subid": 0, "offset": 6}
    assert qb.stderr(5, len=5)[0]["data"] == "hello"
    assert fake.body("output") == {"id": 5, "stream": "err"}
