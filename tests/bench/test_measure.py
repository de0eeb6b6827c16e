"""The benchmark's memory sampler: what it counts in a process tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.measure import _rss_each


def _started_children(proc: psutil.Process, count: int) -> list[psutil.Process]:
    """proc's `count` children once each has run its own program (a fork of the shell still
    carries the shell's name, java, until its exec)."""
    for _ in range(200):
        children = proc.children()
        try:
            if len(children) >= count and all(child.name() != proc.name() for child in children):
                return children
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    raise AssertionError(f"expected {count} started children, saw {proc.children()}")


def test_the_jvms_children_count_only_when_they_are_python(tmp_path: Path):
    """A process named java (a shell under that name) starts a `sleep`, as Hadoop starts chmod,
    and a Python process, as Spark starts its workers: the sampler keeps the JVM and the
    Python child and leaves the other out (it would share the JVM's memory before its exec)."""
    java = tmp_path / "java"
    java.symlink_to(shutil.which("bash"))
    script = f"sleep 30 & {sys.executable} -c 'import time; time.sleep(30)' & wait"
    jvm = subprocess.Popen([str(java), "-c", script])
    try:
        parent = psutil.Process(jvm.pid)
        assert parent.name() == "java"
        children = _started_children(parent, 2)
        names = {child.pid: child.name() for child in children}
        assert sorted(n if not n.startswith("python") else "python" for n in names.values()) == ["python", "sleep"]

        counted = {p.pid for p, _ in _rss_each([parent, *children])}
        python_pid = next(pid for pid, name in names.items() if name.startswith("python"))
        assert counted == {jvm.pid, python_pid}
        # The same sleep counts when its parent is not a JVM.
        plain = subprocess.Popen(["sleep", "30"])
        try:
            assert {p.pid for p, _ in _rss_each([psutil.Process(os.getpid()), psutil.Process(plain.pid)])} \
                == {os.getpid(), plain.pid}
        finally:
            plain.kill()
    finally:
        for child in psutil.Process(jvm.pid).children(recursive=True):
            child.kill()
        jvm.kill()
        jvm.wait()
