import hashlib
import hmac
import re

import pytest

from jobs.privacy.pseudonym import (
    PSEUDONYM_PATTERN,
    MissingKeyError,
    Pseudonymiser,
    canonical_address,
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


def test_key_version_is_a_fingerprint_not_the_key():
    pseudo = Pseudonymiser(key=b"secret-key-material")
    assert pseudo.key_version.startswith("k_") and "secret" not in pseudo.key_version
    assert pseudo.key_version != Pseudonymiser(key=b"other").key_version


def test_load_key_from_env_or_file(monkeypatch, tmp_path):
    monkeypatch.delenv("ONA_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("ONA_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(MissingKeyError):
        load_key()
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    monkeypatch.setenv("ONA_PSEUDONYM_KEY_FILE", str(key_file))
    assert load_key() == b"from-file"
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", "from-env")
    assert load_key() == b"from-env"
