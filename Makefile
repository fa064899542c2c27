# Each target creates .venv and installs what is missing, so a fresh machine needs one command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-all bench install clean

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

clean:
	rm -rf $(VENV) build *.egg-info
