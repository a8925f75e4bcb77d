# One command per chore; README.md and .ci/run use these same commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench schema clean

# Create the virtual environment and install the publisher with its test tools.
$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The main job on the example plans.
run: $(INSTALLED)
	$(BIN)/publisher check plans

# Everything CI runs: lint, types, and the whole test suite.
test: lint
	$(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench
	$(BIN)/mypy

bench: $(INSTALLED)
	$(BIN)/python -m bench.check_plans

schema: $(INSTALLED)
	$(BIN)/publisher schema --out plans/schema

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
