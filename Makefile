PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: run test install install-test bench clean

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

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
