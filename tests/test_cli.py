"""`ona` fails loudly: a malformed argument, a landing folder that is missing or empty, a lake
with nothing to build: one line on stderr and exit 2, before anything is written."""

from __future__ import annotations

import secrets

import pytest

from jobs.cli import main
from jobs.privacy.pseudonym import KEY_ENV


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, expected", [
    (["run", "--lake", "L", "--weeks", "2026-W99"], "2026 has no week 99"),
    (["run", "--lake", "L", "--weeks", "last week"], "not an ISO week: 'last week'"),
    (["run", "--lake", "L", "--weeks", "2026-W12..2026-W10"], "empty week range"),
    (["pull", "--lake", "L", "--weeks", "2026-W54"], "2026 has no week 54"),
    (["approve", "--lake", "L", "--week", "W10", "--run", "r"], "not an ISO week: 'W10'"),
    (["run", "--weeks", "2026-W10"], "the following arguments are required: --lake"),
    (["serve", "--lake", "L", "--port", "70000"], "a port is a number from 1 to 65535, not '70000'"),
])
def test_a_malformed_argument_is_a_one_line_usage_error(capsys, tmp_path, argv, expected):
    argv = [str(tmp_path / "lake") if a == "L" else a for a in argv]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = _one_line(capsys)
    assert expected in err and err.startswith("ona ") and err.endswith("--help)")
    assert not (tmp_path / "lake").exists()


def test_a_missing_landing_folder_is_refused(capsys, tmp_path):
    assert main(["run", "--landing", str(tmp_path / "nowhere"), "--lake", str(tmp_path / "lake")]) == 2
    assert _one_line(capsys) == f"ona run: no landing folder at {tmp_path / 'nowhere'}"
    assert not (tmp_path / "lake").exists()


def test_a_landing_folder_without_files_is_refused(capsys, tmp_path):
    for folder in ("email", "calendar", "chat/slack", "people"):
        (tmp_path / "landing" / folder).mkdir(parents=True)
    (tmp_path / "landing" / "notes.txt").write_text("not in a source folder")
    assert main(["run", "--landing", str(tmp_path / "landing"), "--lake", str(tmp_path / "lake")]) == 2
    assert "holds no file under email/, calendar/, chat/slack/, people/: nothing to ingest" in _one_line(capsys)
    assert not (tmp_path / "lake").exists()


def test_a_build_from_a_lake_without_ingests_is_refused(spark, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, secrets.token_hex(32))
    assert main(["run", "--lake", str(tmp_path / "lake")]) == 2
    err = _one_line(capsys)
    assert err.startswith(f"ona run: the lake at {tmp_path / 'lake'} holds no ingest yet")
    assert not (tmp_path / "lake").exists()


def test_a_landing_folder_linked_in_is_followed(tmp_path):
    from jobs.cli import landing_problem

    export = tmp_path / "export"
    export.mkdir()
    (export / "inbox.mbox").write_text("From x\n")
    (tmp_path / "landing" / "email").mkdir(parents=True)
    (tmp_path / "landing" / "email" / "takeout").symlink_to(export)
    assert landing_problem(tmp_path / "landing") is None
