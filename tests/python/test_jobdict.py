"""Qube! job dicts -> the farm's JobSpec, and the farm's records -> qb.Job."""
import pytest

import qb
from qb import _jobdict


def spec(job):
    return _jobdict.to_spec(job, "alice")


def test_core_fields_map_to_the_jobspec():
    s = spec({"name": "render", "prototype": "cmdrange", "cpus": 4, "priority": 10, "label": "r",
              "package": {"cmdline": "echo QB_FRAME_NUMBER"}, "agenda": qb.genframes("1-3"),
              "status": "blocked", "pgrp": 7, "env": {"A": "1"}, "cwd": "/tmp"})
    assert s == {"name": "render", "type": "cmdrange", "cpus": 4, "priority": 10, "label": "r",
                 "package": {"cmdline": "echo QB_FRAME_NUMBER"}, "agenda": ["1", "2", "3"], "blocked": True,
                 "pgrp": 7, "env": {"A": "1"}, "cwd": "/tmp", "user": "alice"}


def test_placement_and_run_control_take_qube_names_and_comma_strings():
    s = spec({"hosts": "a, b", "groups": ["g"], "omithosts": "c", "cluster": "/show", "restrictions": "/show/*",
              "requirements": "host.memory > 1000", "reservations": "host.processors=2",
              "retrywork": 3, "retrywork_delay": 5, "retrysubjob": 1, "timeout": 600, "agendatimeout": 60,
              "max_cpus": 8, "flagsstring": "uninterruptible,export_environment", "mailaddress": "a@x,b@x"})
    assert s["hosts"] == ["a", "b"] and s["groups"] == ["g"] and s["omithosts"] == ["c"]
    assert (s["cluster"], s["restrictions"]) == ("/show", "/show/*")
    assert s["requirements"] == "host.memory > 1000" and s["reservations"] == "host.processors=2"
    assert (s["retrywork"], s["retryworkdelay"], s["retrysubjob"]) == (3, 5, 1)
    assert (s["timelimit"], s["agendatimelimit"], s["max_cpus"]) == (600, 60, 8)
    assert s["flags"] == ["uninterruptible", "export_environment"]
    assert s["mail"] == ["a@x", "b@x"]


def test_synonyms_must_agree():
    assert spec({"timelimit": 60, "timeout": 60})["timelimit"] == 60
    assert spec({"agenda_timelimit": 9})["agendatimelimit"] == 9
    with pytest.raises(qb.error, match="'timelimit' and 'timeout' disagree"):
        spec({"timelimit": 60, "timeout": 61})


def test_an_unsupported_field_is_refused_by_name():
    with pytest.raises(qb.error, match="'prod_show' is not supported"):
        spec({"name": "x", "prod_show": "show"})
    with pytest.raises(qb.error, match=r"agenda\[1\]: field 'package'"):
        spec({"agenda": [{"name": "1"}, {"name": "2", "package": {"x": 1}}]})
    with pytest.raises(qb.error, match=r"callbacks\[0\]: field 'maximum'"):
        spec({"callbacks": [{"triggers": "done-job-self", "language": "qube", "code": "x", "maximum": 2}]})


def test_wrong_types_are_refused_by_name():
    with pytest.raises(qb.error, match="'cpus' must be an integer"):
        spec({"cpus": "four"})
    with pytest.raises(qb.error, match="'package' must be a dict"):
        spec({"package": "cmdline"})
    with pytest.raises(qb.error, match="'status'"):
        spec({"status": "running"})
    with pytest.raises(qb.error, match="a job must be a dict"):
        spec(["not", "a", "job"])
    assert spec({"cpus": "4"})["cpus"] == 4  # Qube! scripts often pass numbers as text


def test_dependency_bare_ids_are_link_complete_job():
    assert spec({"dependency": "12,13"})["dependency"] == "link-complete-job-12,link-complete-job-13"
    assert spec({"dependency": 12})["dependency"] == "link-complete-job-12"
    assert spec({"dependency": "link-done-job-render"})["dependency"] == "link-done-job-render"


def test_callbacks_and_the_mail_callback_address():
    s = spec({"mailaddress": "me@x", "callbacks": [
        {"triggers": "done-job-self", "language": "mail"},
        {"triggers": ["complete-job-a", "failed-job-a"], "language": "qube", "code": "unblock-self"}]})
    assert s["callbacks"] == [{"triggers": "done-job-self", "language": "mail", "code": "me@x"},
                              {"triggers": "complete-job-a || failed-job-a", "language": "qube",
                               "code": "unblock-self"}]
    with pytest.raises(qb.error, match="needs the job's 'mailaddress'"):
        spec({"callbacks": [{"triggers": "done-job-self", "language": "mail"}]})


def test_type_and_name_default_as_qbsub():
    assert spec({"package": {"cmdline": "true"}})["type"] == "cmdline"
    s = spec({"agenda": qb.genframes("1-2"), "label": "frames"})
    assert (s["type"], s["name"]) == ("cmdrange", "frames")
    assert spec({"user": "bob"})["user"] == "bob"


def test_job_object_as_qube():
    job = qb.Job(name="n", prototype="cmdline", package={"cmdline": "set"})
    assert job == {"name": "n", "prototype": "cmdline", "package": {"cmdline": "set"}}
    job["id"] = 5
    assert job.id() == 5 and isinstance(job, dict)


def test_modify_takes_qube_names_and_refuses_the_rest():
    assert _jobdict.to_modify_set({"priority": 5, "timeout": 60, "hosts": "a,b", "notes": "n"}) == \
        {"priority": 5, "timelimit": 60, "hosts": ["a", "b"], "description": "n"}
    with pytest.raises(qb.error, match="'pgrp' cannot be changed"):
        _jobdict.to_modify_set({"pgrp": 3})
    with pytest.raises(qb.error):
        _jobdict.to_modify_set({})


RECORD = {"id": 12, "name": "r", "type": "cmdrange", "user": "alice", "status": "running", "pgrp": 12, "pid": 0,
          "priority": 9999, "cpus": 2, "hosts": ["a", "b"], "groups": [], "flags": ["uninterruptible"],
          "mail": ["m@x"], "retryworkdelay": 5, "agendatimelimit": 0, "description": "d",
          "timesubmit": 1700000000.5, "timestart": None, "timecomplete": None,
          "callbacks": [{"triggers": "done-job-self", "language": "mail", "code": "m@x"}],
          "progress": {"total": 3, "pending": 1, "running": 1, "complete": 1, "failed": 0},
          "agenda": [{"name": "1", "status": "skipped", "attempts": 0, "subid": -1, "timestart": None},
                     {"name": "2", "status": "running", "attempts": 1, "subid": 0, "timestart": 1700000001.0}],
          "instances": [{"subid": 0, "host": "a", "status": "running", "timestart": 1700000001.0}]}


def test_records_come_back_under_qube_names():
    job = _jobdict.from_job(RECORD)
    assert isinstance(job, qb.Job)
    assert (job["prototype"], job["hosts"], job["groups"], job["flagsstring"]) == \
        ("cmdrange", "a,b", "", "uninterruptible")
    assert (job["mailaddress"], job["retrywork_delay"], job["notes"]) == ("m@x", 5, "d")
    assert (job["timesubmit"], job["timestart"]) == (1700000000, 0)
    assert job["todo"] == 3 and job["todotally"]["running"] == 1
    assert "agenda" not in job and "subjobs" not in job and "callbacks" not in job


def test_agenda_subjobs_and_callbacks_when_asked():
    job = _jobdict.from_job(RECORD, agenda=True, subjobs=True, callbacks=True)
    assert [type(w) for w in job["agenda"]] == [qb.Work, qb.Work]
    assert job["agenda"][0]["status"] == "complete"  # completed by hand: Qube!'s retired work
    assert job["agenda"][1]["pid"] == 12 and job["agenda"][1]["count"] == 1
    assert job["subjobs"] == [qb.Subjob({"subid": 0, "id": 0, "pid": 12, "host": "a", "status": "running",
                                         "timestart": 1700000001, "timecomplete": 0})]
    assert isinstance(job["callbacks"][0], qb.Callback)
