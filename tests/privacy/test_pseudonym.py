import hashlib
import hmac
import re

import pytest

from jobs.privacy.pseudonym import (
    PSEUDONYM_PATTERN,
    EXTERNAL,
    UNUSABLE,
    MissingKeyError,
    Pseudonymiser,
    WeakKeyError,
    canonical_address,
    key_bits,
    load_key,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Ann.Lee@Example.ORG", "ann.lee@example.org"),
        ("  Ann Lee <ann.lee@example.org> ", "ann.lee@example.org"),
        ("MAILTO:ann.lee@example.org", "ann.lee@example.org"),
        ("ann+ona@example.org", "ann+ona@example.org"),  # +tags are kept
        ("not an address", None),
        ("", None),
        (None, None),
        ("a@b.org, c@d.org", None),  # two addresses are not one identifier
    ],
)
def test_canonical_address(raw, expected):
    assert canonical_address(raw) == expected


def test_person_pseudonym_is_keyed_hmac_of_canonical_address():
    pseudo = Pseudonymiser(key=b"k1")
    expected = "p_" + hmac.new(b"k1", b"ann.lee@example.org", hashlib.sha256).hexdigest()[:16]
    assert pseudo.person("Ann Lee <ANN.LEE@example.org>") == expected
    assert pseudo.person("mailto:ann.lee@example.org") == expected
    assert re.match(PSEUDONYM_PATTERN, expected)
    # Another key gives another pseudonym: a bare hash would not.
    assert Pseudonymiser(key=b"k2").person("ann.lee@example.org") != expected


def test_external_addresses_become_their_domain():
    pseudo = Pseudonymiser(key=b"k1", internal_domains=frozenset({"example.org"}))
    one, two = pseudo.person("x@partner.example"), pseudo.person("y@partner.example")
    assert one == two and one.startswith("x_")
    assert pseudo.person("ann@example.org").startswith("p_")


STRONG = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_key_identifier_is_a_keyed_derivation_not_a_hash_of_the_key():
    key = STRONG.encode()
    pseudo = Pseudonymiser(key=key)
    # Computed here from the documented definition, not from the code under test.
    expected = "kid_" + hmac.new(key, b"ona key identifier v1", hashlib.sha256).hexdigest()[:12]
    assert pseudo.key_version == expected
    # Neither a plain nor a prefixed hash of the key: those could be checked offline against guesses.
    assert hashlib.sha256(key).hexdigest()[:12] not in expected
    assert hashlib.sha256(b"ona-key-version:" + key).hexdigest()[:12] not in expected
    assert pseudo.key_version != Pseudonymiser(key=b"0" + key[1:]).key_version


@pytest.mark.parametrize(
    "key, bits",
    [
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 256),  # 64 hex digits
        ("9f86d081884c7d659a2feaa0c55ad015", 128),  # 32 hex digits: the minimum
        ("9f86d081884c7d659a2feaa0c55ad0", 120),  # 30 hex digits: too short
        ("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", 256),  # base64 of 32 random bytes
        ("0" * 64, 0),  # long, but no secret in it
        ("0123456789abcdef" * 4, 0),  # 8 distinct bytes repeated
        ("correct horse battery staple", 0),  # a passphrase: entropy cannot be judged
        ("x", 0),
    ],
)
def test_key_strength_is_judged_by_the_random_bytes_it_encodes(key, bits):
    assert key_bits(key.encode()) == bits


def test_weak_keys_are_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("ONA_PSEUDONYM_KEY_FILE", raising=False)
    for weak in ("x", "pipeline-test-key", "0" * 64, "9f86d081884c7d659a2feaa0c55ad0"):
        monkeypatch.setenv("ONA_PSEUDONYM_KEY", weak)
        with pytest.raises(WeakKeyError):
            load_key()
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", STRONG)
    assert load_key() == STRONG.encode()


def test_keygen_prints_a_key_that_load_key_accepts(monkeypatch, capsys):
    from jobs.cli import main

    assert main(["keygen"]) == 0
    key = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", key)
    assert load_key() == key.encode() and key_bits(key.encode()) == 256
    assert main(["keygen"]) == 0 and capsys.readouterr().out.strip() != key


def test_tally_counts_unusable_values_and_distinct_externals():
    pseudo = Pseudonymiser(key=STRONG.encode(), internal_domains=frozenset({"example.org"}))
    for raw in ("ann@example.org", "x@partner.example", "X@Partner.example", "y@partner.example",
                "not an address", "undisclosed-recipients:;", "", None):
        pseudo.person(raw)
    # 2 distinct outside addresses (x twice, in two spellings), 2 unusable non-empty values.
    assert pseudo.take_tally() == {UNUSABLE: 2, EXTERNAL: 2}
    assert pseudo.take_tally() == {}


def test_load_key_from_env_or_file(monkeypatch, tmp_path):
    monkeypatch.delenv("ONA_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("ONA_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(MissingKeyError):
        load_key()
    key_file = tmp_path / "key"
    key_file.write_text(STRONG + "\n")
    monkeypatch.setenv("ONA_PSEUDONYM_KEY_FILE", str(key_file))
    assert load_key() == STRONG.encode()
    other = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", other)
    assert load_key() == other.encode()
