# One command per chore; README.md and .ci/run use these same commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

TOOLS := .tools
VNU := $(TOOLS)/node_modules/vnu-jar/build/dist/vnu.jar

.PHONY: run test lint tools bench schema docs clean

# Create the virtual environment and install the publisher with its test tools.
$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The main job on the example plans: check them, build the site into feeds/, then run the
# service on http://127.0.0.1:8000/ (SQLite in publisher.db, mail written to mail/).
run: $(INSTALLED)
	$(BIN)/publisher check plans
	$(BIN)/publisher build --plans plans --out feeds
	$(BIN)/publisher run --plans plans --site feeds

# Everything CI runs: lint, types, and the whole test suite.
test: lint tools
	$(BIN)/python -m pytest -q

# What the page tests use besides Python: headless Chromium (Debian's package), Java for
# the Nu HTML checker, and the checker itself (vnu-jar, from the npm registry). The deploy
# test validates docker-compose.yml with Debian's docker-compose, which needs no engine.
tools: $(VNU)
	@command -v chromium >/dev/null || { echo "Installing chromium (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v java >/dev/null || { echo "Installing Java (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; }
	@command -v docker-compose >/dev/null || { echo "Installing docker-compose (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }

$(VNU):
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) vnu-jar@26

lint: $(INSTALLED)
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench
	$(BIN)/mypy

bench: $(INSTALLED)
	$(BIN)/python -m bench.check_plans
	$(BIN)/python -m bench.build_site

schema: $(INSTALLED)
	$(BIN)/publisher schema --out plans/schema

# The settings table in docs/configuration.md, from publisher/settings.py (a test fails while
# it is stale).
docs: $(INSTALLED)
	$(BIN)/python -m publisher.settings docs/configuration.md

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
