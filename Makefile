# Two commands for a fresh machine: `make demo` and `make test`.
# Each creates (or reuses) the Python 3.11 virtual environment in .venv, then runs.
# The environment is rebuilt only when pyproject.toml changes.

PYTHON311 ?= python3.11
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
TORCH     := torch==2.13.0

.PHONY: demo test lint env build-extension bench clean

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff, pinned in the test extra; its rules are in pyproject.toml.
lint: $(STAMP)
	$(PY) -m ruff check .

env: $(STAMP)

# torch goes in first, so that the rest finds it satisfied and pulls no other build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON311) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[all]"
	touch $(STAMP)

build-extension: $(STAMP)
	$(PY) scripts/build_extension.py

bench: $(STAMP)
	$(PY) scripts/bench_render.py

clean:
	rm -rf $(VENV) out build dist
