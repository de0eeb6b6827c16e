"""Settings from an ONA_CONFIG file and ONA_* variables, and a bad value stops `ona` in one line."""

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
                                             ("ONA_MIN_GROUP_SIZE", "3"),
                                             ("ONA_CONCURRENT_ACTIONS", "four"),
                                             ("ONA_JAVA", "openjdk")])
def test_a_bad_setting_stops_every_command_with_one_line(monkeypatch, capsys, tmp_path, variable, value):
    monkeypatch.setenv(variable, value)
    assert main(["run", "--lake", str(tmp_path / "lake"), "--weeks", "2026-W10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ona: bad configuration (ONA_CONFIG file or ONA_* variables):") and "\n" not in err
    assert not (tmp_path / "lake").exists()


CONFIG = """
[privacy]
min_group_size = 7
[ties]
broadcast_limit = 30
meeting_partstats = ["ACCEPTED"]
[graph]
betweenness_epsilon = 0.05
[dp]
epsilon_per_release = 1
"""


def test_a_config_file_sets_any_rule_and_the_variables_win(tmp_path):
    config = tmp_path / "ona.toml"
    config.write_text(CONFIG)
    settings = Settings.from_env({"ONA_CONFIG": str(config)})
    assert settings.privacy.min_group_size == 7
    assert settings.ties.broadcast_limit == 30 and settings.ties.meeting_partstats == ("ACCEPTED",)
    assert settings.graph.betweenness_epsilon == 0.05 and settings.dp.epsilon_per_release == 1.0
    assert settings.retention == Settings().retention  # untouched sections keep their defaults
    both = Settings.from_env({"ONA_CONFIG": str(config), "ONA_MIN_GROUP_SIZE": "9"})
    assert both.privacy.min_group_size == 9 and both.ties.broadcast_limit == 30


@pytest.mark.parametrize("content, named", [
    ("[privacy]\nmin_group_size = 3\n", "min_group_size (k) cannot be below 5"),
    ("[privacy]\nk = 7\n", "unknown key 'k' in [privacy]"),
    ("[tie]\nbroadcast_limit = 30\n", "unknown section [tie]"),
    ("[ties]\nbroadcast_limit = \"30\"\n", "[ties] broadcast_limit must be an integer"),
    ("[dp]\nenabled = 1\n", "[dp] enabled must be true or false"),
    ("[privacy\n", "is not TOML"),
    (None, "cannot read"),
])
def test_a_bad_config_file_stops_every_command_with_one_line(monkeypatch, capsys, tmp_path, content, named):
    config = tmp_path / "ona.toml"
    if content is not None:
        config.write_text(content)
    monkeypatch.setenv("ONA_CONFIG", str(config))
    assert main(["run", "--lake", str(tmp_path / "lake"), "--weeks", "2026-W10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ona: bad configuration (ONA_CONFIG file or ONA_* variables): ") and "\n" not in err
    assert named in err
    assert not (tmp_path / "lake").exists()
