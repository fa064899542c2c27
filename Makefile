# Each target creates .venv and installs what is missing, so a fresh machine needs one command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-all bench install clean docs

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fairopt demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider tests

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "slow or not slow" tests

# make bench            -> every benchmark (minutes); make bench B="lp2 rounding" -> some of them
B ?= lp2 rounding ballot relax_merge
bench: $(STAMP)
	$(PY) -m benchmarks $(B)

# The documentation site: Sphinx + numpydoc + sphinx-gallery, warnings are errors (docs/_build/html/index.html).
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "wrote docs/_build/html/index.html"

clean:
	rm -rf $(VENV) build *.egg-info docs/_build docs/generated docs/auto_examples
