# Two commands for a fresh machine: `make demo` and `make test`.
# Each creates (or reuses) the Python 3.11 virtual environment in .venv, then runs.
# The environment is rebuilt only when pyproject.toml changes.
#
# `make test` also takes the installed extension zip through install, import, rig, strip,
# track and bake in the oldest and newest Blender releases (bpy module), each in its own
# virtual environment under .venv-bpy/<version>/, rebuilt only when its pins
# (tests/blender_versions/pins/bpy-<version>.txt) change. `make test-blender-all` runs all.

PYTHON311 ?= python3.11
# Blender 5.1 and later embed Python 3.13: found on PATH, through pyenv, or in pyenv's folder.
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON313 ?= $(shell for c in $$(command -v python3.13) $$(pyenv which python3.13 2>/dev/null) \
	$$(ls -d $(PYENV_ROOT)/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
	"$$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && echo "$$c" && break; \
	done)
BPY_ALL      := 4.2 4.5 5.0 5.2 5.3
BPY_DEFAULT  := 4.2 5.3
BPY_VENVS    := .venv-bpy
# Blender 4.2-5.0 embed Python 3.11; 5.1 and later 3.13.
bpy_python = $(if $(filter 4.% 5.0,$(1)),$(PYTHON311),$(PYTHON313))
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
TORCH     := torch==2.13.0

.PHONY: demo test lint test-blender test-blender-all env build-extension bench clean

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP) $(BPY_DEFAULT:%=$(BPY_VENVS)/%/.installed)
	SPECTRALSPLATS_BPY_VERSIONS="$(BPY_DEFAULT)" $(PY) -m pytest $(PYTEST_ARGS)

# Only the install-to-bake path, in the given Blender versions (default: oldest and newest).
test-blender: $(STAMP) $(BPY_DEFAULT:%=$(BPY_VENVS)/%/.installed)
	SPECTRALSPLATS_BPY_VERSIONS="$(BPY_DEFAULT)" $(PY) -m pytest tests/blender_versions $(PYTEST_ARGS)

test-blender-all: $(STAMP) $(BPY_ALL:%=$(BPY_VENVS)/%/.installed)
	SPECTRALSPLATS_BPY_VERSIONS="$(BPY_ALL)" $(PY) -m pytest tests/blender_versions $(PYTEST_ARGS)

# One Blender (bpy module) per virtual environment; the tracker stays in .venv.
$(BPY_VENVS)/%/.installed: tests/blender_versions/pins/bpy-%.txt
	@test -n "$(call bpy_python,$*)" || { echo "Blender $* needs Python 3.13, not found on \
	PATH, through pyenv or in $(PYENV_ROOT)/versions: install it (pyenv install 3.13) or pass \
	PYTHON313=/path/to/python3.13" >&2; exit 1; }
	rm -rf $(BPY_VENVS)/$*
	$(call bpy_python,$*) -m venv $(BPY_VENVS)/$*
	$(BPY_VENVS)/$*/bin/python -m pip install --quiet --upgrade pip
	$(BPY_VENVS)/$*/bin/python -m pip install --quiet -r $<
	touch $@

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
	rm -rf $(VENV) $(BPY_VENVS) out build dist
