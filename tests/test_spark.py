"""jobs.spark.concurrently: independent actions at once, results in order, no error lost, and a
bad ONA_CONCURRENT_ACTIONS refused in one line (no Spark session needed). jobs.spark.expressions_for:
small runs switch the session to interpreted expressions and put back what was set before."""

from __future__ import annotations

import threading
import time

import pytest

from jobs.spark import concurrently, expressions_for, session_conf

WHOLE_STAGE, FACTORY = "spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode"


def test_results_come_back_in_the_order_of_the_items(monkeypatch):
    monkeypatch.setenv("ONA_CONCURRENT_ACTIONS", "3")

    def slow_square(n):
        time.sleep(0.05 * (5 - n))  # the first items finish last
        return n * n, threading.current_thread().name

    results = concurrently(slow_square, range(5))
    assert [square for square, _ in results] == [0, 1, 4, 9, 16]
    assert len({thread for _, thread in results}) == 3  # three threads shared the five


def test_every_action_runs_to_its_end_before_the_first_error_is_raised(monkeypatch):
    monkeypatch.setenv("ONA_CONCURRENT_ACTIONS", "4")
    finished = []

    def action(n):
        if n in (1, 3):
            raise RuntimeError(f"action {n} failed")
        time.sleep(0.05)
        finished.append(n)

    with pytest.raises(RuntimeError, match="action 1 failed"):
        concurrently(action, range(6))
    assert sorted(finished) == [0, 2, 4, 5]


def test_one_runs_the_actions_one_after_the_other_in_this_thread(monkeypatch):
    monkeypatch.setenv("ONA_CONCURRENT_ACTIONS", "1")
    assert concurrently(lambda n: threading.current_thread() is threading.main_thread(), range(3)) == [True] * 3


@pytest.mark.parametrize("value", ["0", "-2", "four", "2.5"])
def test_a_bad_setting_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("ONA_CONCURRENT_ACTIONS", value)
    with pytest.raises(ValueError, match="ONA_CONCURRENT_ACTIONS must be a whole number of at least 1"):
        concurrently(str, range(2))


def test_a_build_refuses_a_bad_setting_before_it_starts(monkeypatch, tmp_path):
    """What a DAG task calls (no `ona` in between): refused when the run opens, before Spark
    starts or the lake is touched."""
    from jobs import pipeline

    monkeypatch.setenv("ONA_CONCURRENT_ACTIONS", "0")
    with pytest.raises(ValueError, match="ONA_CONCURRENT_ACTIONS must be a whole number of at least 1, not '0'"):
        pipeline.run(None, tmp_path / "lake")
    assert not (tmp_path / "lake").exists()


def _mode(spark) -> tuple[str | None, str | None]:
    return spark.conf.get(WHOLE_STAGE, None), spark.conf.get(FACTORY, None)


# The suite's session interprets (tests/conftest.py): the tests that check a switch to
# interpreted expressions start from Spark's compiled defaults, or the check would hold anyway.


def test_a_run_below_the_limit_interprets_and_the_session_gets_its_settings_back(
        spark, monkeypatch, compiled_expressions):
    monkeypatch.setenv("ONA_INTERPRETED_BELOW_ROWS", "1000")
    before = _mode(spark)
    assert before == (None, None)
    with expressions_for(spark, 999) as interpreted:
        assert interpreted
        assert _mode(spark) == ("false", "NO_CODEGEN")
        assert spark.range(10).selectExpr("sum(id * 2) AS s").first()["s"] == 90
    assert _mode(spark) == before
    with expressions_for(spark, 1000) as interpreted:  # at the limit: compiled
        assert not interpreted
        assert _mode(spark) == before


def test_a_value_the_caller_had_set_is_put_back_even_after_an_error(spark, monkeypatch):
    monkeypatch.setenv("ONA_INTERPRETED_BELOW_ROWS", "10")
    with session_conf(spark, {FACTORY: "CODEGEN_ONLY"}):
        with pytest.raises(RuntimeError, match="inside"):
            with expressions_for(spark, 0):
                raise RuntimeError("inside")
        assert spark.conf.get(FACTORY) == "CODEGEN_ONLY"


def test_overlapping_runs_keep_interpreting_until_the_last_one_ends(spark, monkeypatch, compiled_expressions):
    """Two runs in threads of one process (ingest DAG tasks in one worker): the first to end
    must not switch the other back to compiled in the middle of its work."""
    monkeypatch.setenv("ONA_INTERPRETED_BELOW_ROWS", "10")
    before = _mode(spark)
    assert before == (None, None)
    first_inside, first_done = threading.Event(), threading.Event()
    seen = []

    def first():
        with expressions_for(spark, 1):
            first_inside.set()
            first_done.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    first_inside.wait(5)
    with expressions_for(spark, 2):
        first_done.set()
        thread.join(5)
        seen.append(_mode(spark))  # the first run has ended; this one still interprets
    assert seen == [("false", "NO_CODEGEN")]
    assert _mode(spark) == before


def test_zero_never_interprets(spark, monkeypatch):
    monkeypatch.setenv("ONA_INTERPRETED_BELOW_ROWS", "0")
    with expressions_for(spark, 0) as interpreted:
        assert not interpreted


@pytest.mark.parametrize("value", ["-1", "many", "1e6"])
def test_a_bad_row_limit_is_refused_before_a_build_starts(monkeypatch, tmp_path, value):
    from jobs import pipeline

    monkeypatch.setenv("ONA_INTERPRETED_BELOW_ROWS", value)
    with pytest.raises(ValueError, match="ONA_INTERPRETED_BELOW_ROWS must be a whole number"):
        pipeline.run(None, tmp_path / "lake")
    assert not (tmp_path / "lake").exists()
