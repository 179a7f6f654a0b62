"""Finding the supervisor: setsupervisor, $QB_API_URL, $QB_SUPERVISOR, qb.conf,
read at every call (scripts set the environment after `import qb`)."""
import pytest

import qb
from qb import _config


def test_default_is_loopback_on_the_default_http_port():
    assert _config.base_url() == "http://127.0.0.1:50080"


def test_qb_conf_then_qb_supervisor_then_qb_api_url_then_setsupervisor(monkeypatch, tmp_path):
    conf = tmp_path / "qb.conf"
    conf.write_text("# Qube! client config\nqb_domain = x\nqb_supervisor = conf-host  # the farm\n")
    monkeypatch.setenv("QB_CONF", str(conf))
    assert _config.base_url() == "http://conf-host:50080"
    monkeypatch.setenv("QB_SUPERVISOR", "env-host")
    assert _config.base_url() == "http://env-host:50080"
    monkeypatch.setenv("QB_API_URL", "https://api-host:8443/farm/")
    assert _config.base_url() == "https://api-host:8443/farm"
    qb.setsupervisor("set-host:9000")
    assert _config.base_url() == "http://set-host:9000"
    assert qb.getsupervisor() == "set-host"
    qb.setsupervisor("")
    assert qb.getsupervisor() == "api-host"


def test_qb_supervisor_forms(monkeypatch):
    for value, url in (("farm", "http://farm:50080"), ("farm:8080", "http://farm:8080"),
                       ("tcp://farm:50002", "http://farm:50080"), ("tcp://0.0.0.0:50002", "http://127.0.0.1:50080"),
                       ("::1", "http://[::1]:50080"), ("http://farm:1234", "http://farm:1234")):
        monkeypatch.setenv("QB_SUPERVISOR", value)
        assert _config.base_url() == url, value


def test_bad_settings_are_qb_errors(monkeypatch):
    monkeypatch.setenv("QB_API_URL", "ftp://x")
    with pytest.raises(qb.error, match="not an http"):
        _config.base_url()
    monkeypatch.delenv("QB_API_URL")
    monkeypatch.setenv("QB_SUPERVISOR", "farm:notaport")
    with pytest.raises(qb.error, match="not a host"):
        _config.base_url()
    with pytest.raises(qb.error):
        qb.setsupervisor(5)
    with pytest.raises(qb.error):
        qb.settimeout(0)


def test_token_from_environment_or_user_config(monkeypatch, tmp_path):
    assert _config.token() == ""
    (tmp_path / "home" / ".config" / "qube").mkdir(parents=True)
    (tmp_path / "home" / ".config" / "qube" / "token").write_text("file-token\n")
    assert _config.token() == "file-token"
    monkeypatch.setenv("QB_TOKEN", "env-token")
    assert _config.token() == "env-token"


def test_timeout_in_milliseconds():
    qb.settimeout(1500)
    assert qb.gettimeout() == 1500


def test_jobid_from_the_environment_of_a_job_or_callback(monkeypatch):
    assert qb.jobid() == 0
    monkeypatch.setenv("QBJOBID", "42")
    monkeypatch.setenv("QBSUBID", "3")
    assert (qb.jobid(), qb.subid()) == (42, 3)
