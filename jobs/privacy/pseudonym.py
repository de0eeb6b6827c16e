"""Keyed pseudonyms for people and external domains.

Canonicalisation of an identifier (documented in docs/privacy.md):
  1. take the address part of a header value ("Ann <Ann@X.org>" -> "Ann@X.org"), drop "mailto:";
  2. Unicode NFKC, strip white space, lower-case the whole address.
Dots and "+tags" are kept: they are different mailboxes in most systems.

A person is ``p_`` + the first 16 hex digits of HMAC-SHA256(key, canonical address).
Addresses outside the organisation's domains are never kept as individuals: they become the
pseudonym of their domain, ``x_`` + 16 hex digits of HMAC-SHA256(key, "domain:" + domain).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path

PERSON_PREFIX = "p_"
EXTERNAL_PREFIX = "x_"
PSEUDONYM_PATTERN = r"^[px]_[0-9a-f]{16}$"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

KEY_ENV = "ONA_PSEUDONYM_KEY"
KEY_FILE_ENV = "ONA_PSEUDONYM_KEY_FILE"


class MissingKeyError(RuntimeError):
    pass


def canonical_address(value: str | None) -> str | None:
    """The canonical form of one address, or None when the value holds no usable address."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if "<" in text or "," in text or " " in text:
        parsed = [addr for _, addr in getaddresses([text]) if addr]
        if len(parsed) != 1:
            return None
        text = parsed[0]
    text = text.strip().strip("<>").lower()
    return text if _ADDRESS.match(text) else None


def load_key(key_file: str | os.PathLike | None = None) -> bytes:
    """The pseudonym key from ONA_PSEUDONYM_KEY, or from a key file (argument or env)."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path and Path(path).is_file():
        return Path(path).read_bytes().strip()
    raise MissingKeyError(
        f"No pseudonym key: set {KEY_ENV}, or {KEY_FILE_ENV} to a file holding the key "
        "(`ona demo` creates a local development key)."
    )


def create_dev_key(path: Path) -> bytes:
    """Create (once) a random development key file readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_bytes().strip()


@dataclass
class Pseudonymiser:
    """Turns raw identifiers into keyed pseudonyms; the only place that sees the key."""

    key: bytes
    internal_domains: frozenset[str] = field(default_factory=frozenset)

    @property
    def key_version(self) -> str:
        # A fingerprint of the key (not the key): lets an audit tell which key made a run.
        return "k_" + hashlib.sha256(b"ona-key-version:" + self.key).hexdigest()[:12]

    def _digest(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()[:16]

    def is_internal(self, address: str) -> bool:
        # With no known domains every address counts as internal (the run summary warns).
        return not self.internal_domains or address.rsplit("@", 1)[1] in self.internal_domains

    def person(self, raw: str | None) -> str | None:
        """Pseudonym of a person, the pseudonym of its domain when external, None if unusable."""
        address = canonical_address(raw)
        if address is None:
            return None
        if self.is_internal(address):
            return PERSON_PREFIX + self._digest(address)
        return EXTERNAL_PREFIX + self._digest("domain:" + address.rsplit("@", 1)[1])

    def ref(self, *parts: object) -> str:
        """A keyed reference for a non-person identifier (message id, file, channel, UID)."""
        return self._digest("ref:" + "\x1f".join("" if p is None else str(p) for p in parts))
