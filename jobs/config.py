"""Tunable rules of the pipeline, read in one place. docs/metrics.md explains the tie and role
rules, docs/privacy.md the privacy knobs, docs/engines.md the graph rules.

`Settings.from_env()` is what every entry point calls (the CLI, the DAG tasks, the pipeline):
the defaults below, then an optional TOML file named by ONA_CONFIG (sections `ties`,
`privacy`, `retention`, `dp`, `graph`, `roles`; keys are the field names), then the ONA_*
variables, which win. A key or section that does not exist, a value of the wrong type or out
of range is a ValueError naming it (`ona` prints it in one line and exits 2).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class TieRules:
    # A message or meeting with more participants than this is a broadcast: load, not ties.
    broadcast_limit: int = 25
    # Base weight of one fan-out event, shared among its participants (1 / n each).
    email_weight: float = 1.0
    chat_weight: float = 1.0
    reaction_weight: float = 0.25
    # Meeting attendees who count as present.
    meeting_partstats: tuple[str, ...] = ("ACCEPTED", "TENTATIVE")
    # Slack subtypes that are system noise, not someone talking to someone.
    chat_system_subtypes: tuple[str, ...] = (
        "bot_message", "channel_join", "channel_leave", "channel_topic", "channel_purpose",
        "channel_name", "channel_archive", "channel_unarchive", "group_join", "group_leave",
        "pinned_item", "unpinned_item", "bot_add", "bot_remove", "tombstone",
    )


@dataclass(frozen=True)
class PrivacyRules:
    min_group_size: int = 5  # k; never below 5 (docs/privacy.md)
    # Weeks that passed their gates wait for `ona approve` before BI readers see them.
    require_approval: bool = False
    # An opt-out list other than <landing>/people/opt_out.csv (one column: email).
    opt_out_file: str | None = None

    def __post_init__(self) -> None:
        if self.min_group_size < 5:
            raise ValueError("min_group_size (k) cannot be below 5")


@dataclass(frozen=True)
class RetentionRules:
    """How long each layer keeps a week (by event time), and how long VACUUM keeps the files
    of removed rows for readers still on an older version (docs/privacy.md, "Retention")."""

    bronze_weeks: int = 13
    silver_weeks: int = 26
    gold_weeks: int = 104
    quality_weeks: int = 104
    vacuum_retain_hours: int = 168

    def __post_init__(self) -> None:
        if min(self.bronze_weeks, self.silver_weeks, self.gold_weeks, self.quality_weeks) < 1:
            raise ValueError("retention windows are at least one week")
        if self.vacuum_retain_hours < 0:
            raise ValueError("vacuum_retain_hours cannot be negative")


@dataclass(frozen=True)
class DPRules:
    """Optional differential privacy for group-level outputs (docs/privacy.md, "Differential
    privacy"). Edge-level: a release protects any one tie's presence and weight."""

    enabled: bool = False
    epsilon_per_release: float = 0.5  # spent by one week's group table
    weekly_budget: float = 1.0  # total over every release of the same week (rebuilds spend too)
    weight_clip: float = 5.0  # one tie contributes at most this weight to a group cell

    def __post_init__(self) -> None:
        if self.epsilon_per_release <= 0 or self.weekly_budget <= 0 or self.weight_clip <= 0:
            raise ValueError("epsilon, budget and clip must be positive")


@dataclass(frozen=True)
class GraphRules:
    """Where each week's graph algorithms run and how (docs/engines.md)."""

    # A week with more edges than this runs on GraphFrames across the cluster; smaller weeks run
    # in one Spark task with igraph (20M weighted edges are ~2 GB of Arrow columns in a task).
    max_local_edges: int = 20_000_000
    # Betweenness is exact up to this many people in a week, estimated above it from sampled
    # sources with every value within epsilon of the exact one with probability 1 - delta
    # (local engine; measured costs in docs/engines.md: 5k exact 4.8 s, 50k at epsilon 0.1 21 s).
    exact_betweenness_max_nodes: int = 5_000
    betweenness_epsilon: float = 0.1
    betweenness_delta: float = 0.1
    # Harmonic closeness on GraphFrames: exact from every person, or estimated from this many
    # random landmarks per week.
    harmonic_landmarks: int = 256
    # A community keeps last week's id when their members overlap at least this much (Jaccard).
    community_min_overlap: float = 0.3

    def __post_init__(self) -> None:
        if self.max_local_edges < 0 or self.exact_betweenness_max_nodes < 0:
            raise ValueError("graph size thresholds cannot be negative")
        if not (0 < self.betweenness_epsilon < 1 and 0 < self.betweenness_delta < 1):
            raise ValueError("betweenness epsilon and delta are in (0, 1)")
        if not 0 < self.community_min_overlap <= 1:
            raise ValueError("community_min_overlap is in (0, 1]")


@dataclass(frozen=True)
class RoleRules:
    """Thresholds of the network role label (docs/metrics.md, "Roles"). Percentiles are ranks
    within the week among people with at least one tie (0 lowest, 1 highest)."""

    overloaded_meeting_hours: float = 20.0  # half of a 40-hour week in meetings
    overloaded_messages_percentile: float = 0.95  # emails + chat messages sent
    broker_betweenness_percentile: float = 0.90
    broker_constraint_percentile: float = 0.25  # at or below: few redundant contacts
    connector_degree_percentile: float = 0.90
    peripheral_max_degree: int = 1


@dataclass(frozen=True)
class Settings:
    ties: TieRules = field(default_factory=TieRules)
    privacy: PrivacyRules = field(default_factory=PrivacyRules)
    retention: RetentionRules = field(default_factory=RetentionRules)
    dp: DPRules = field(default_factory=DPRules)
    graph: GraphRules = field(default_factory=GraphRules)
    roles: RoleRules = field(default_factory=RoleRules)

    @classmethod
    def from_file(cls, path: Path | str) -> "Settings":
        """Defaults overridden by a TOML file (module docstring)."""
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise ValueError(f"ONA_CONFIG: cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"ONA_CONFIG: {path} is not TOML: {exc}") from None
        settings = cls()
        sections = {f.name: f for f in fields(cls)}
        changed = {}
        for section, values in data.items():
            if section not in sections or not isinstance(values, dict):
                raise ValueError(f"ONA_CONFIG: unknown section [{section}] in {path} "
                                 f"(sections: {', '.join(sections)})")
            changed[section] = _with_values(getattr(settings, section), values, section)
        return replace(settings, **changed)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Defaults, then the ONA_CONFIG file, then the ONA_* variables (module docstring)."""
        env = os.environ if environ is None else environ

        def flag(name: str) -> bool | None:
            value = env.get(name)
            return None if value is None or value == "" else value.strip().lower() in ("1", "true", "yes", "on")

        def pick(name: str, kind):
            value = env.get(name)
            return None if value is None or value == "" else kind(value)

        def overrides(**values):
            return {k: v for k, v in values.items() if v is not None}

        config = (env.get("ONA_CONFIG") or "").strip()
        settings = cls.from_file(config) if config else cls()
        return replace(
            settings,
            privacy=replace(settings.privacy, **overrides(
                min_group_size=pick("ONA_MIN_GROUP_SIZE", int),
                require_approval=flag("ONA_REQUIRE_APPROVAL"),
                opt_out_file=pick("ONA_OPT_OUT_FILE", str))),
            retention=replace(settings.retention, **overrides(
                bronze_weeks=pick("ONA_RETENTION_BRONZE_WEEKS", int),
                silver_weeks=pick("ONA_RETENTION_SILVER_WEEKS", int),
                gold_weeks=pick("ONA_RETENTION_GOLD_WEEKS", int),
                quality_weeks=pick("ONA_RETENTION_QUALITY_WEEKS", int),
                vacuum_retain_hours=pick("ONA_VACUUM_RETAIN_HOURS", int))),
            dp=replace(settings.dp, **overrides(
                enabled=flag("ONA_DP"),
                epsilon_per_release=pick("ONA_DP_EPSILON", float),
                weekly_budget=pick("ONA_DP_WEEKLY_BUDGET", float),
                weight_clip=pick("ONA_DP_WEIGHT_CLIP", float))),
            graph=replace(settings.graph, **overrides(
                max_local_edges=pick("ONA_GRAPH_MAX_LOCAL_EDGES", int),
                exact_betweenness_max_nodes=pick("ONA_GRAPH_EXACT_BETWEENNESS_MAX_NODES", int),
                betweenness_epsilon=pick("ONA_GRAPH_BETWEENNESS_EPSILON", float),
                harmonic_landmarks=pick("ONA_GRAPH_HARMONIC_LANDMARKS", int))),
        )


def _with_values(rules, values: dict, section: str):
    """``rules`` (one frozen section) with the file's values, each checked against the field's
    type; the section's own checks (__post_init__) run on the result."""
    known = {f.name: f for f in fields(rules)}
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"ONA_CONFIG: unknown key {key!r} in [{section}] (keys: {', '.join(known)})")
        default = getattr(rules, key)
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        wanted = type(default) if default is not None else str
        if not isinstance(value, wanted) or (isinstance(value, bool) and wanted is not bool):
            kind = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
                    "tuple": "a list"}[wanted.__name__]
            raise ValueError(f"ONA_CONFIG: [{section}] {key} must be {kind}, not {value!r}")
        changes[key] = value
    return replace(rules, **changes)
