"""The HTTP transport against a fake supervisor: the request's shape, the token,
and each kind of failure as a qb.error."""
import socket

import pytest

import qb


def test_request_shape_and_bearer_token(fake, monkeypatch):
    fake.replies["ping"] = {"version": "0.1.0", "protocol": 1, "time": 1.0}
    monkeypatch.setenv("QB_TOKEN", "secret")
    assert qb.ping() is True
    type_, body, headers = fake.requests[-1]
    assert (type_, body) == ("ping", {})
    assert headers["Authorization"] == "Bearer secret"
    assert headers["Content-Type"] == "application/json"


def test_no_token_no_authorization_header(fake):
    fake.replies["ping"] = {"version": "0.1.0"}
    qb.ping()
    assert "Authorization" not in fake.requests[-1][2]


def test_environment_is_read_at_each_call_not_at_import(fake, monkeypatch):
    monkeypatch.delenv("QB_API_URL")
    fake.replies["ping"] = {"version": "0.1.0"}
    import qb as again  # already imported: the setting below must still count
    monkeypatch.setenv("QB_SUPERVISOR", fake.url)
    assert again.ping() is True and fake.types() == ["ping"]


def test_ping_as_dict(fake):
    fake.replies["ping"] = {"version": "0.1.0", "protocol": 1, "time": 5.0}
    reply = qb.ping(asDict=True)
    assert reply["up"] is True and reply["version"] == "0.1.0" and reply["supervisor"] == fake.url


def test_ping_of_an_explicit_supervisor_leaves_the_setting(fake, monkeypatch):
    monkeypatch.delenv("QB_API_URL")
    fake.replies["ping"] = {"version": "0.1.0"}
    assert qb.ping(supervisor=fake.url) is True
    assert qb._config._state["supervisor"] == ""


@pytest.mark.parametrize("status, message", [(400, "field 'cpus' must be an integer"), (401, "no token"),
                                             (403, "only the job's owner or an admin may kill job 3"),
                                             (404, "no job 99"), (409, "job 3 is already killed")])
def test_error_replies_raise_qb_error_with_the_message_and_status(fake, status, message):
    fake.replies["history"] = (status, {"error": message, "status": status})
    with pytest.raises(qb.error) as raised:
        qb.hist(3)
    assert str(raised.value) == message and raised.value.status == status
    assert qb.error() == message  # Qube!'s qb.error(): the last reason


def test_a_reply_that_is_not_json_is_a_qb_error(fake):
    fake.replies["hosts"] = (502, b"<html>bad gateway</html>")
    with pytest.raises(qb.error, match="HTTP 502"):
        qb.hostinfo()


def test_an_unreachable_supervisor_is_a_qb_error(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("QB_API_URL", "http://127.0.0.1:%d" % port)
    with pytest.raises(qb.error, match="cannot reach the supervisor"):
        qb.jobinfo()
    assert qb.ping() is False
    assert "cannot reach" in qb.ping(asDict=True)["error"]


def test_a_silent_supervisor_times_out(monkeypatch):
    with socket.socket() as s:  # accepts (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        monkeypatch.setenv("QB_API_URL", "http://127.0.0.1:%d" % s.getsockname()[1])
        qb.settimeout(200)
        with pytest.raises(qb.error, match="cannot reach"):
            qb.jobinfo()
