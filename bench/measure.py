"""Wall time and peak memory of a stage: a psutil sampling thread records the RSS of a process
(optionally with all its descendants: the Spark JVM and its Python workers) while it runs."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field

import psutil

from jobs.memory import release_freed_memory

MIB = 1024 * 1024


def _rss_each(procs: list[psutil.Process]) -> list[tuple[psutil.Process, int]]:
    """RSS of each process, leaving out the JVM's short-lived children other than Python: the
    chmod, readlink and rm calls of Hadoop's local file system, about 60 in the last 20 s of
    a 50k run. Between the spawn and the exec such a child shares the JVM's
    address space, so its RSS is the JVM's whole 4-5 GiB once more: caught in one 50 ms
    sample, it made a 50k run's tree 10.3 GiB."""
    seen = []
    for p in procs:
        try:
            seen.append((p, p.memory_info().rss, p.ppid(), p.name()))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    jvms = {p.pid for p, _, _, name in seen if name == "java"}
    return [(p, rss) for p, rss, parent, name in seen if parent not in jvms or name.startswith("python")]


def tree_rss(proc: psutil.Process, children: list[psutil.Process] | None = None) -> int:
    return sum(rss for _, rss in _rss_each([proc, *(children or [])]))


def _role(proc: psutil.Process, root: psutil.Process) -> str:
    """Which part of our pipeline a process of the tree is (the peak is split by these)."""
    if proc.pid == root.pid:
        return "Python driver"
    try:
        name = proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "other"
    return "JVM" if name == "java" else ("Python workers" if name.startswith("python") else "other")


class PeakRSS:
    """Samples every `interval` s; `tree=True` adds every descendant process (refreshed each
    second, so that short-lived Python workers are seen)."""

    def __init__(self, pid: int | None = None, tree: bool = False, interval: float = 0.05,
                 track_cpu: bool = False):
        self.proc = psutil.Process(pid or os.getpid())
        self.track_cpu = track_cpu
        self.cpu_by_pid: dict[int, float] = {}  # last seen CPU seconds of each process of the tree
        self.tree = tree
        self.interval = interval
        self.start_rss = 0
        self.peak_rss = 0
        self.peak_parts: dict[str, float] = {}  # MiB per role (_role) at the tree's peak
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
        if self.track_cpu:
            for p in [self.proc, *(children or [])]:
                try:
                    t = p.cpu_times()
                    self.cpu_by_pid[p.pid] = t.user + t.system
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        each = _rss_each([self.proc, *(children or [])])
        rss = sum(r for _, r in each)
        if rss > self.peak_rss:
            self.peak_rss = rss
            parts: dict[str, float] = {}
            for p, r in each:
                role = _role(p, self.proc)
                parts[role] = parts.get(role, 0.0) + r / MIB
            self.peak_parts = parts
        return rss

    def _run(self) -> None:
        children, refreshed = self._children(), time.monotonic()
        while not self._stop.wait(self.interval):
            if self.tree and time.monotonic() - refreshed > (0.25 if self.track_cpu else 1.0):
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


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _busy_seconds() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


class OtherLoad:
    """CPU the rest of the machine used while a stage ran, in cores (approximate: CPU of our
    processes that exited during the stage counts as other load). The machine may be shared:
    a figure measured while other work ran is flagged in the report."""

    def __init__(self, pid: int | None = None):
        self.proc = psutil.Process(pid or os.getpid())

    def __enter__(self) -> "OtherLoad":
        self.t0 = time.monotonic()
        self.busy0 = _busy_seconds()
        self.ours0 = {p.pid: _cpu_seconds([p]) for p in _tree(self.proc)}
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.monotonic() - self.t0, 1e-6)
        ours = sum(_cpu_seconds([p]) - self.ours0.get(p.pid, 0.0) for p in _tree(self.proc))
        self.cores = max(0.0, (_busy_seconds() - self.busy0) - ours) / wall


def wait_idle(max_other_cores: float = 0.3, timeout_s: float = 900.0, log=None) -> float:
    """Wait until the rest of the machine uses less than `max_other_cores` for 3 checks of
    2 s in a row (or the timeout passes). Returns the seconds waited."""
    start = time.monotonic()
    quiet = 0
    warned = False
    while time.monotonic() - start < timeout_s:
        with OtherLoad() as load:
            time.sleep(2.0)
        quiet = quiet + 1 if load.cores < max_other_cores else 0
        if quiet >= 3:
            break
        if not warned and log and quiet == 0:
            log(f"  machine busy ({load.cores:.1f} cores used by other processes): waiting up to {timeout_s:.0f} s")
            warned = True
    return time.monotonic() - start


@dataclass
class Measurement:
    walls: list[float] = field(default_factory=list)
    peak_delta_mib: list[float] = field(default_factory=list)
    peak_abs_mib: list[float] = field(default_factory=list)
    other_load_cores: list[float] = field(default_factory=list)
    extra: list[dict] = field(default_factory=list)
    peak_parts_mib: list[dict] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    def add(self, wall: float, mem: PeakRSS, extra: dict | None = None, other_load: float | None = None) -> None:
        self.walls.append(wall)
        if other_load is not None:
            self.other_load_cores.append(other_load)
        self.peak_delta_mib.append(mem.delta_mib)
        self.peak_abs_mib.append(mem.peak_mib)
        self.peak_parts_mib.append(mem.peak_parts)
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
            # how the highest peak splits between the processes of the tree
            "peak_parts_mib": {k: round(v, 1) for k, v in
                               self.peak_parts_mib[self.peak_abs_mib.index(max(self.peak_abs_mib))].items()},
            "reps": len(self.walls),
            "other_load_cores_max": round(max(self.other_load_cores), 2) if self.other_load_cores else None,
            "breakdown_s": {k: round(v, 3) for k, v in self.median_extra().items()},
        }


def timed(fn, *, tree: bool = False):
    """Run fn() once: (result, wall seconds, PeakRSS); mem.other_load = cores used by the rest
    of the machine meanwhile."""
    # Freed memory back to the OS first, so that the stage's RSS delta is its own: glibc and
    # Arrow's pool keep what an earlier engine freed, and the next one reuses it unseen.
    release_freed_memory()
    with OtherLoad() as load, PeakRSS(tree=tree) as mem:
        t0 = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t0
    mem.other_load = load.cores
    return result, wall, mem
