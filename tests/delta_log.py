"""Reading Delta's transaction log as files, the way anyone with the lake's folders can: what
the log itself holds, independent of any Delta reader."""

from __future__ import annotations

import json
from pathlib import Path


def log_texts(folder: Path) -> str:
    """Every commit and checksum of the transaction logs below a table or a lake folder, as
    text (Hadoop's own hidden .crc files are binary and hold no row)."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("_delta_log/*"))
                     if p.suffix in (".json", ".crc") and not p.name.startswith("."))


def added_file_stats(table_folder: Path) -> list[dict]:
    """The statistics of every data file the log adds, newest commit last."""
    stats = []
    for commit in sorted((table_folder / "_delta_log").glob("*.json")):
        for line in commit.read_text(encoding="utf-8").splitlines():
            action = json.loads(line)
            if "add" in action and action["add"].get("stats"):
                stats.append(json.loads(action["add"]["stats"]))
    return stats
