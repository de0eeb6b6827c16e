"""A pull DAG run with dag.test() against the API emulator: the Airflow path of `ona pull`,
from the connection in the environment to bronze rows and the asset events' weeks."""

from __future__ import annotations

import os

import pytest

from tests.emulator import serve

pytestmark = pytest.mark.slow


def test_pull_dag_fills_bronze_from_the_connection_and_resumes_from_the_lake(spark, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from deltalake import DeltaTable

    emulator = serve.start(page_size=2)
    try:
        monkeypatch.setenv("AIRFLOW_CONN_ONA_SLACK", emulator.connection_json("slack"))
        monkeypatch.setenv("ONA_PSEUDONYM_KEY", "2b19ea9d66a8b49de1870de2c0923d177727492e4bb119ce438575be5cb58b63")
        monkeypatch.setenv("ONA_INTERNAL_DOMAINS", "example.org")
        lake = tmp_path / "lake"
        dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag("ona_pull_slack")
        conf = {"lake": str(lake), "landing": "", "weeks": ["2026-W14", "2026-W15"]}

        first = dag.test(run_conf=conf)
        assert str(first.state) == "success"
        chat = DeltaTable(str(lake / "bronze/chat")).to_pandas()
        assert len(chat) == 9 and chat["record_id"].is_unique  # org.py's 9 Slack messages
        returned = first.get_task_instance("pull_slack").xcom_pull(task_ids="pull_slack")
        assert returned["chat"]["weeks"] == ["2026-W14", "2026-W15"]
        assert returned["chat"]["origin"] == "slack" and returned["chat"]["requests"] > 0

        # The next nightly run (no weeks) starts from the cursors kept in the lake: nothing new.
        emulator.clear_log()
        second = dag.test(run_conf={"lake": str(lake), "landing": ""})
        assert str(second.state) == "success"
        assert all("oldest" in r.query for r in emulator.requests("slack", "/conversations.history"))
        assert len(DeltaTable(str(lake / "bronze/chat")).to_pandas()) == 9
    finally:
        emulator.stop()
