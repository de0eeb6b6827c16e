"""`ona pull` as a user runs it: exit codes and one clear line on failure."""

from __future__ import annotations

import pytest

from jobs.cli import main
from tests.emulator import serve
from tests.emulator.org import make_org
from tests.emulator.server import TOKEN


@pytest.fixture
def emulator(monkeypatch):
    emu = serve.start(page_size=50, org=make_org())
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", "d38f8d9771e86131d0f38f87a0e8f195796e603a93e88dd3546e4bc1c834035f")
    for vendor in ("MSGRAPH", "GOOGLE", "SLACK"):
        monkeypatch.delenv(f"AIRFLOW_CONN_ONA_{vendor}", raising=False)
    yield emu
    emu.stop()


def test_refused_token_exits_4_with_one_line_and_no_secret(emulator, monkeypatch, tmp_path, capsys, spark):
    monkeypatch.setenv("AIRFLOW_CONN_ONA_MSGRAPH", emulator.connection_json("msgraph"))
    emulator.faults.reject_token = True
    assert main(["pull", "--lake", str(tmp_path / "lake"), "--sources", "msgraph"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ona pull: msgraph: HTTP 401")
    assert TOKEN not in err[0]
    assert len(emulator.requests("msgraph")) == 1  # no retry of a refused token


def test_slack_auth_error_arrives_as_http_200_and_still_exits_4(emulator, monkeypatch, tmp_path, capsys, spark):
    monkeypatch.setenv("AIRFLOW_CONN_ONA_SLACK", emulator.connection_json("slack"))
    monkeypatch.setenv("ONA_INTERNAL_DOMAINS", "example.org")
    emulator.faults.reject_token = True
    assert main(["pull", "--lake", str(tmp_path / "lake"), "--sources", "slack"]) == 4
    assert "invalid_auth" in capsys.readouterr().err


def test_unconfigured_or_unknown_source_exits_2(emulator, tmp_path, capsys, spark):
    assert main(["pull", "--lake", str(tmp_path / "lake"), "--sources", "slack"]) == 2
    assert "AIRFLOW_CONN_ONA_SLACK" in capsys.readouterr().err
    assert main(["pull", "--lake", str(tmp_path / "lake"), "--sources", "teams"]) == 2
    assert "unknown source" in capsys.readouterr().err
