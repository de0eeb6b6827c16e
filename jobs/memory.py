"""Giving freed memory back to the operating system.

glibc's allocator and Arrow's memory pool keep what a process frees for its next allocation,
so a Python process that once held a large week keeps that resident set until it exits. A
Spark Python worker lives on after its task (workers are reused), and its resident memory adds
to the JVM's for the rest of the run: at 50k people that was most of what separated the run
from its memory target (docs/performance.md, "Memory of a week's graph task").
"""

from __future__ import annotations

import ctypes
import gc

import pyarrow as pa


def release_freed_memory() -> None:
    """Collect garbage, then return the free pages of Arrow's pool and of glibc's heap."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its allocator keeps the pages
        pass
