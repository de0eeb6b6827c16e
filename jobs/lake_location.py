"""Where the lake is: a root that is a local folder or a URL, and the paths below it.

Kept apart from jobs/lake.py (which needs Spark and Delta) so that the command line can check
a --lake value before anything heavy is imported.
"""

from __future__ import annotations

import re
from pathlib import Path

# A lake root is a string everywhere: a local folder or a URL (s3a://bucket/lake, abfss://...,
# gs://...). pathlib would turn "s3a://bucket" into "s3a:/bucket", so only local roots ever
# pass through it (in `location`).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_local(root: Path | str) -> bool:
    """Whether a lake root is a folder on this machine (a path, or a file:// URL)."""
    text = str(root)
    return text.startswith("file:") or not _URL.match(text)


def location(root: Path | str) -> str:
    """A lake root as every job takes it. A URL is kept as given, less a trailing slash. A local
    path is made absolute, because Spark resolves a relative one against its warehouse folder in
    a catalog and every other process against its own working directory."""
    text = str(root)
    if _URL.match(text) and not text.startswith("file:"):
        return text.rstrip("/")
    if text.startswith("file:"):
        text = re.sub(r"^file:(//)?", "", text)
    return str(Path(text).expanduser().absolute())


def join(root: Path | str, *parts: str) -> str:
    """A path below a lake root ("silver/events"), joined with "/" for local paths and URLs alike."""
    return "/".join([location(root), *(part.strip("/") for part in parts)])


def missing_local(root: Path | str) -> bool:
    """A local lake root that is not a folder (a lake at a URL is found, or not, by its first read)."""
    return is_local(root) and not Path(location(root)).is_dir()
