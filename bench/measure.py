"""Wall time and peak memory of a stage: a psutil sampling thread records the RSS of a process
(optionally with all its descendants: the Spark JVM and its Python workers) while it runs."""

from __future__ import annotations

import gc
import os
import statistics
import threading
import time
from dataclasses import dataclass, field

import psutil

MIB = 1024 * 1024


def tree_rss(proc: psutil.Process, children: list[psutil.Process] | None = None) -> int:
    total = 0
    for p in [proc, *(children or [])]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


class PeakRSS:
    """Samples every `interval` s; `tree=True` adds every descendant process (refreshed each
    second, so that short-lived Python workers are seen)."""

    def __init__(self, pid: int | None = None, tree: bool = False, interval: float = 0.05):
        self.proc = psutil.Process(pid or os.getpid())
        self.tree = tree
        self.interval = interval
        self.start_rss = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _children(self) -> list[psutil.Process]:
        if not self.tree:
            return []
        try:
            return self.proc.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def sample(self, children) -> int:
        rss = tree_rss(self.proc, children)
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def _run(self) -> None:
        children, refreshed = self._children(), time.monotonic()
        while not self._stop.wait(self.interval):
            if self.tree and time.monotonic() - refreshed > 1.0:
                children, refreshed = self._children(), time.monotonic()
            self.sample(children)

    def __enter__(self) -> "PeakRSS":
        self.start_rss = self.peak_rss = tree_rss(self.proc, self._children())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sample(self._children())
        self._stop.set()
        if self._thread:
            self._thread.join()

    @property
    def delta_mib(self) -> float:
        return (self.peak_rss - self.start_rss) / MIB

    @property
    def peak_mib(self) -> float:
        return self.peak_rss / MIB


@dataclass
class Measurement:
    walls: list[float] = field(default_factory=list)
    peak_delta_mib: list[float] = field(default_factory=list)
    peak_abs_mib: list[float] = field(default_factory=list)
    extra: list[dict] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    def add(self, wall: float, mem: PeakRSS, extra: dict | None = None) -> None:
        self.walls.append(wall)
        self.peak_delta_mib.append(mem.delta_mib)
        self.peak_abs_mib.append(mem.peak_mib)
        self.extra.append(extra or {})

    def median_extra(self) -> dict:
        keys = {k for e in self.extra for k, v in e.items() if isinstance(v, (int, float))}
        return {k: statistics.median(e[k] for e in self.extra if k in e) for k in sorted(keys)}

    def to_json(self) -> dict:
        return {
            "wall_s": round(self.wall, 3),
            "walls_s": [round(w, 3) for w in self.walls],
            "peak_delta_mib": round(max(self.peak_delta_mib), 1),
            "peak_abs_mib": round(max(self.peak_abs_mib), 1),
            "reps": len(self.walls),
            "breakdown_s": {k: round(v, 3) for k, v in self.median_extra().items()},
        }


def timed(fn, *, tree: bool = False):
    """Run fn() once: (result, wall seconds, PeakRSS)."""
    gc.collect()
    with PeakRSS(tree=tree) as mem:
        t0 = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t0
    return result, wall, mem
