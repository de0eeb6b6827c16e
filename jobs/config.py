"""Tunable rules of the pipeline. docs/metrics.md explains the defaults."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def __post_init__(self) -> None:
        if self.min_group_size < 5:
            raise ValueError("min_group_size (k) cannot be below 5")


@dataclass(frozen=True)
class Settings:
    ties: TieRules = field(default_factory=TieRules)
    privacy: PrivacyRules = field(default_factory=PrivacyRules)
    # Above this many edges in one week the local graph engine refuses (size guard, see
    # docs/engines.md); 20M weighted edges is ~2 GB of pandas in one task.
    max_local_edges: int = 20_000_000
