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

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path

PERSON_PREFIX = "p_"
EXTERNAL_PREFIX = "x_"
PSEUDONYM_PATTERN = r"^[px]_[0-9a-f]{16}$"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

KEY_ENV = "ONA_PSEUDONYM_KEY"
KEY_FILE_ENV = "ONA_PSEUDONYM_KEY_FILE"


# The run summary's names for what pseudonymisation collapsed or could not use.
UNUSABLE = "unusable addresses"
EXTERNAL = "external addresses (collapsed to their domain)"

MIN_KEY_BITS = 128


class MissingKeyError(RuntimeError):
    pass


class WeakKeyError(ValueError):
    """The key is too short or too regular to resist an offline guess (docs/privacy.md, "Keys")."""


def generate_key() -> str:
    """A new key in the documented form: 64 hex digits (256 random bits)."""
    return secrets.token_hex(32)


def key_bits(key: bytes) -> int:
    """The strength we credit a key with. Two forms are recognised, judged by the random bytes
    they encode, not by their length in characters:
      - hex digits (the documented form, `ona keygen`): 4 bits per digit;
      - base64 / URL-safe base64 of random bytes (what `openssl rand -base64 32` prints): 8 bits
        per decoded byte.
    Anything else (a passphrase, a word) is credited 0: its entropy cannot be judged from the
    text. A key whose bytes repeat (fewer than 3/4 distinct, at most 12 required) is credited 0
    too: "0000..." or "abab..." decode to plenty of bytes and no secret."""
    text = key.strip().decode("ascii", errors="replace")
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
    elif re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", text):
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if not raw or len(set(raw)) < min(12, (3 * len(raw)) // 4):
        return 0
    return 8 * len(raw)


def check_key(key: bytes) -> bytes:
    if key_bits(key) < MIN_KEY_BITS:
        raise WeakKeyError(
            f"The pseudonym key is weaker than {MIN_KEY_BITS} bits (or not in a recognised form): "
            "use 64 hex digits from `ona keygen` (or base64 of at least 16 random bytes)."
        )
    return key


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
    """The pseudonym key from ONA_PSEUDONYM_KEY, or from a key file (argument or env); a key
    weaker than 128 bits is refused (WeakKeyError)."""
    if os.environ.get(KEY_ENV):
        return check_key(os.environ[KEY_ENV].strip().encode())
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path and Path(path).is_file():
        return check_key(Path(path).read_bytes().strip())
    raise MissingKeyError(
        f"No pseudonym key: set {KEY_ENV}, or {KEY_FILE_ENV} to a file holding the key "
        "(`make demo` creates a local development key)."
    )


def create_dev_key(path: Path) -> bytes:
    """Create (once) a random development key file readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_bytes().strip()


@dataclass
class Pseudonymiser:
    """Turns raw identifiers into keyed pseudonyms; the only place that sees the key."""

    key: bytes
    internal_domains: frozenset[str] = field(default_factory=frozenset)
    # What person() could not use or collapsed since the last take_tally(): counts only.
    _tally: Counter = field(default_factory=Counter, repr=False)
    _externals: set = field(default_factory=set, repr=False)

    @property
    def key_version(self) -> str:
        """The key identifier: an HMAC under the key itself, so it names the key without
        revealing anything about it (a bare hash of the key would let a weak key be checked
        offline). Bronze rows carry it; silver and gold use only the current one's rows."""
        return "kid_" + hmac.new(self.key, b"ona key identifier v1", hashlib.sha256).hexdigest()[:12]

    def _digest(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()[:16]

    def is_internal(self, address: str) -> bool:
        # With no known domains every address counts as internal (the run summary warns).
        return not self.internal_domains or address.rsplit("@", 1)[1] in self.internal_domains

    def person(self, raw: str | None) -> str | None:
        """Pseudonym of a person, the pseudonym of its domain when external, None if unusable."""
        address = canonical_address(raw)
        if address is None:
            if raw:
                self._tally[UNUSABLE] += 1
            return None
        if self.is_internal(address):
            return PERSON_PREFIX + self._digest(address)
        # Distinct outside addresses are counted through their digest, held in memory only.
        self._externals.add(self._digest(address))
        return EXTERNAL_PREFIX + self._digest("domain:" + address.rsplit("@", 1)[1])

    def take_tally(self) -> dict[str, int]:
        """Unusable address values seen and distinct external addresses collapsed since the
        last call (the run summary's counts), then start again."""
        counts = {**self._tally, **({EXTERNAL: len(self._externals)} if self._externals else {})}
        self._tally.clear()
        self._externals.clear()
        return counts

    def ref(self, *parts: object) -> str:
        """A keyed reference for a non-person identifier (message id, file, channel, UID)."""
        return self._digest("ref:" + "\x1f".join("" if p is None else str(p) for p in parts))
