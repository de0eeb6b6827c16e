"""Tunable rules of the pipeline. docs/metrics.md explains the tie rules, docs/privacy.md the
privacy knobs; `Settings.from_env()` reads the ONA_* variables a deployment sets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace


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
class Settings:
    ties: TieRules = field(default_factory=TieRules)
    privacy: PrivacyRules = field(default_factory=PrivacyRules)
    retention: RetentionRules = field(default_factory=RetentionRules)
    dp: DPRules = field(default_factory=DPRules)
    # Above this many edges in one week the local graph engine refuses (size guard, see
    # docs/engines.md); 20M weighted edges is ~2 GB of pandas in one task.
    max_local_edges: int = 20_000_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Defaults, overridden by the ONA_* variables documented in docs/privacy.md."""
        env = os.environ if environ is None else environ

        def flag(name: str) -> bool | None:
            value = env.get(name)
            return None if value is None or value == "" else value.strip().lower() in ("1", "true", "yes", "on")

        def pick(name: str, kind):
            value = env.get(name)
            return None if value is None or value == "" else kind(value)

        def overrides(**values):
            return {k: v for k, v in values.items() if v is not None}

        settings = cls()
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
        )
