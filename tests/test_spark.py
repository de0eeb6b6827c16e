"""jobs.spark.concurrently: independent actions at once, results in order, no error lost, and a
bad ONA_CONCURRENT_ACTIONS refused in one line (no Spark session needed)."""

from __future__ import annotations

import threading
import time

import pytest

from jobs.spark import concurrently


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
