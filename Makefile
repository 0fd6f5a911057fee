# JAG — top-level commands. `make demo` and `make test` set up everything they need on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-py check gen clean help

help:
	@echo "make demo   run the quickstart example (creates .venv on first use)"
	@echo "make test   run every test (creates .venv on first use)"
	@echo "make gen    regenerate spec/OPS.md and spec/ERRORS.md from spec/*.json"
	@echo "make check  fail when generated files are stale"

# The virtualenv, re-installed when the package metadata changes.
$(STAMP): python/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e 'python[test]'
	@touch $(STAMP)

demo: $(STAMP)
	cd examples && ../$(PY) quickstart.py

gen: $(STAMP)
	$(PY) spec/gen.py

check: $(STAMP)
	$(PY) spec/gen.py --check

test: check test-py

test-py: $(STAMP)
	$(PY) -m pytest -q python/tests

clean:
	rm -rf $(VENV) python/*.egg-info .pytest_cache python/.pytest_cache
