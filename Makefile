PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: run test install install-test bench bench-tools bench-http bench-faults clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# The most useful thing kubesim does so far: serve fake clusters and show how to reach them.
run: install
	$(VENV)/bin/kubesim demo

test: install-test
	$(PY) -m pytest

bench: install-test
	$(PIP) install -q -e '.[bench]'
	$(PY) -m benchmarks.store --quick

# kubesim's HTTP path vs nginx and kmock, pinned to one core each (needs 2 cores and taskset).
# Installs wrk and nginx (apt-get, as root) when missing, and kmock into the venv.
bench-tools: install
	@command -v wrk >/dev/null && { command -v nginx >/dev/null || test -x /usr/sbin/nginx; } || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null \
		|| DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null; }
	$(PIP) install -q -e '.[bench]'

bench-http: bench-tools
	$(PY) -m benchmarks.http $(BENCH_HTTP_ARGS)

bench-faults: bench-tools
	$(PY) -m benchmarks.faults $(BENCH_FAULTS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
