"""Settings from ONA_* variables: the graph rules, and a bad value stops `ona` in one line."""

from __future__ import annotations

import pytest

from jobs.cli import main
from jobs.config import GraphRules, Settings


def test_graph_rules_come_from_the_environment():
    settings = Settings.from_env({"ONA_GRAPH_MAX_LOCAL_EDGES": "0", "ONA_GRAPH_EXACT_BETWEENNESS_MAX_NODES": "100",
                                  "ONA_GRAPH_BETWEENNESS_EPSILON": "0.05", "ONA_GRAPH_HARMONIC_LANDMARKS": "64"})
    assert settings.graph == GraphRules(max_local_edges=0, exact_betweenness_max_nodes=100,
                                        betweenness_epsilon=0.05, harmonic_landmarks=64)


@pytest.mark.parametrize("variable, value", [("ONA_GRAPH_BETWEENNESS_EPSILON", "2"),
                                             ("ONA_GRAPH_MAX_LOCAL_EDGES", "-1"),
                                             ("ONA_GRAPH_MAX_LOCAL_EDGES", "many"),
                                             ("ONA_MIN_GROUP_SIZE", "3")])
def test_a_bad_setting_stops_every_command_with_one_line(monkeypatch, capsys, tmp_path, variable, value):
    monkeypatch.setenv(variable, value)
    assert main(["run", "--lake", str(tmp_path / "lake"), "--weeks", "2026-W10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ona: bad configuration (ONA_* variables):") and "\n" not in err
    assert not (tmp_path / "lake").exists()
