"""Stages of a long command, and where its logs go.

The pipeline marks its stages (``with stage("gates"):``). Each stage is one INFO line of the
`ona.progress` logger with its duration, wherever the code runs (a DAG task's log, a test).
On a terminal, `ona` also shows them with rich (``show_stages``): a spinner while a stage runs,
a tick and its duration when it ends.

``quiet_logs`` sends everything else a run says (our INFO lines, the warnings of Great
Expectations, py4j or Airflow, and Spark's JVM log) to a file, so that the terminal shows the
stages, the errors and the summary; `ona -v` keeps it all on the terminal instead.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("ona.progress")

# The JVM's log4j2 configuration when its log goes to a file: Spark's own default writes to
# stderr. ${sys:ona.spark.log} is the file, given as a JVM system property.
_LOG4J2_TO_FILE = """\
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:ona.spark.log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %p %c{1}: %m%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
"""

# Set by quiet_logs; jobs.spark.get_spark starts the JVM with jvm_log_options() then.
SPARK_LOG_ENV = "ONA_SPARK_LOG_FILE"
LOG_DIR_ENV = "ONA_LOG_DIR"


class _Display:
    """Shows stages on a rich console: a spinner while one runs, a line when it ends."""

    def __init__(self, console) -> None:
        self.console = console
        self.status = None
        self.current: str | None = None

    def begin(self, name: str) -> None:
        if self.status is not None:  # a stage inside a stage: the outer one keeps its line
            return
        self.status = self.console.status(f"{name} ...")
        self.status.start()
        self.current = name

    def end(self, name: str, seconds: float, failed: bool) -> None:
        if self.status is None or name != self.current:
            return
        self.status.stop()
        self.status = None
        mark = "[red]x[/red]" if failed else "[green]ok[/green]"
        self.console.print(f"{mark} {name} [dim]{seconds:.1f} s[/dim]", highlight=False)


_display: _Display | None = None


def show_stages(console) -> None:
    """Show stages on this rich console from now on (the CLI calls it; DAG tasks do not)."""
    global _display
    _display = _Display(console)


@contextmanager
def stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    if _display:
        _display.begin(name)
    failed = True
    try:
        yield
        failed = False
    finally:
        seconds = time.perf_counter() - started
        if failed:
            # A warning: the caller reports the exception itself (the CLI in one line, Airflow
            # with its traceback), and a refusal must not print a second error on the terminal.
            log.warning("%s failed after %.1f s", name, seconds)
        else:
            log.info("%s: %.1f s", name, seconds)
        if _display:
            _display.end(name, seconds, failed)


def log_dir() -> Path:
    """$ONA_LOG_DIR, else ~/.cache/ona/logs (never the working directory)."""
    configured = os.environ.get(LOG_DIR_ENV, "").strip()
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache) / "ona" / "logs"


# The handlers quiet_logs installed: (log file, our errors on the terminal).
_installed: list[logging.Handler] = []


def jvm_log_options() -> str | None:
    """Driver JVM options that send Spark's log to $ONA_SPARK_LOG_FILE (None: Spark's default)."""
    target = os.environ.get(SPARK_LOG_ENV, "").strip()
    if not target:
        return None
    config = Path(target).with_suffix(".log4j2.properties")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(_LOG4J2_TO_FILE, encoding="utf-8")
    return f"-Dlog4j2.configurationFile={config.as_uri()} -Dona.spark.log={target}"


def quiet_logs(command: str) -> Path:
    """Send this process's logs and the JVM's to one file per command run; returns its path.
    The terminal keeps ERROR lines of our own logger."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"ona-{command}-{stamp}-{os.getpid()}.log"
    os.environ[SPARK_LOG_ENV] = str(path.with_suffix(".spark.log"))

    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_terminal = logging.StreamHandler()
    to_terminal.setLevel(logging.ERROR)
    to_terminal.addFilter(lambda record: record.name.startswith("ona"))
    to_terminal.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    # A root handler also keeps Python's last-resort handler from printing every library's
    # warnings; handlers of an earlier call in this process (tests call main() often) go.
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed[:] = [to_file, to_terminal]
    for handler in _installed:
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("ona").setLevel(logging.INFO)
    logging.captureWarnings(True)
    return path


def log_file() -> Path | None:
    """The file quiet_logs sends this process's logs to, if it did."""
    return Path(_installed[0].baseFilename) if _installed else None


def keep_quiet() -> None:
    """After a library configured logging itself (Airflow does on import, with handlers that
    print to the terminal), send its loggers to the log file again; nothing without quiet_logs."""
    if not _installed:
        return
    to_file = _installed[0]
    root = logging.getLogger()
    for logger in [root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]:
        for handler in list(logger.handlers):
            if handler not in _installed and isinstance(handler, logging.StreamHandler) \
                    and not isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                if not logger.propagate and logger is not root and to_file not in logger.handlers:
                    logger.addHandler(to_file)
    for handler in _installed:
        if handler not in root.handlers:
            root.addHandler(handler)
