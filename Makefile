# vaxreport — the two commands a user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SCALE  ?= 1
JOBS   ?= 2

.PHONY: demo test test-fast test-slow lab bench check clean venv

# Re-install only when the venv is missing or pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vaxreport needs Python >= 3.11 (set PYTHON=python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vaxreport demo --scale $(SCALE) --jobs $(JOBS) --out outputs/demo --force

# Lint and import order (ruff), typed seams (mypy).
check: $(STAMP)
	$(VENV)/bin/ruff check vaxreport tests bench scripts
	$(VENV)/bin/mypy

# make check, then unit, property and doctests, the notebooks through nbval, and the end-to-end demo.
test: check
	$(PY) -m pytest -q -m "not slow" --doctest-modules --nbval-lax --ignore=vaxreport/notebooks vaxreport tests notebooks

# The unit tests alone (no notebooks, no subprocess runs): a quick loop while editing.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not notebooks" --doctest-modules --ignore=vaxreport/notebooks vaxreport tests

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow tests

# JupyterLab with the review section's buttons (the [lab] extra: ipywidgets).
LAB_STAMP := $(VENV)/.lab-stamp
$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,lab]'
	@touch $(LAB_STAMP)

lab: $(LAB_STAMP)
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	$(PY) bench/run_bench.py

clean:
	rm -rf outputs/demo .pytest_cache
