# One command per chore; README.md and .ci/run use these same commands.
PYTHON ?= python3
# pip-compile writes this into each lock file's header as the command that made it.
export CUSTOM_COMPILE_COMMAND := make lock
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

TOOLS := .tools
VNU := $(TOOLS)/node_modules/vnu-jar/build/dist/vnu.jar

# The lock: requirements/build.txt (what builds the publisher and feedgen), run.txt (the
# service), dev.txt (run.txt and the test tools). Every install takes exactly these versions,
# hash-checked; README.md says why pip-tools.
LOCKS := requirements/build.txt requirements/run.txt requirements/dev.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet --require-hashes --no-deps --no-build-isolation
# The runtime wheels, kept so that a test can install the publisher from the lock into an
# empty environment without the network.
WHEELS := $(TOOLS)/wheels
WHEELS_DONE := $(WHEELS)/.downloaded

.PHONY: run test lint tools bench schema docs clean lock upgrade

# A new virtual environment with exactly the locked versions, then the publisher itself
# (editable, built with the locked setuptools). Made again whenever a lock file changes.
$(INSTALLED): $(LOCKS) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements/build.txt
	$(PIP_INSTALL) -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

# The main job on the example plans: check them, build the site into feeds/, then run the
# service on http://127.0.0.1:8000/ (SQLite in publisher.db, mail written to mail/).
run: $(INSTALLED)
	$(BIN)/publisher check plans
	$(BIN)/publisher build --plans plans --out feeds
	$(BIN)/publisher run --plans plans --site feeds

# Everything CI runs: lint, types, and the whole test suite, on every core (pytest-xdist:
# much of the suite waits on Chromium, mail and web servers and PostgreSQL, so two workers
# on CI's two cores finish well within its 10 minutes, where one took over nine).
test: lint tools $(WHEELS_DONE)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# What the page tests use besides Python: headless Chromium (Debian's package), Java for
# the Nu HTML checker, and the checker itself (vnu-jar, from the npm registry). The deploy
# test validates docker-compose.yml with Debian's docker-compose, which needs no engine. The
# bounce mailbox tests read bounces from Debian's Dovecot, run on loopback by the tests.
tools: $(VNU)
	@command -v chromium >/dev/null || { echo "Installing chromium (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v java >/dev/null || { echo "Installing Java (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; }
	@command -v docker-compose >/dev/null || { echo "Installing docker-compose (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }
	@test -x /usr/sbin/dovecot || { echo "Installing Dovecot's IMAP server (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null; }

$(WHEELS_DONE): $(INSTALLED) requirements/build.txt requirements/run.txt
	rm -rf $(WHEELS)
	$(BIN)/python -m pip download --quiet --require-hashes --no-deps --no-build-isolation \
		-d $(WHEELS) -r requirements/build.txt -r requirements/run.txt
	@touch $@

$(VNU):
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) vnu-jar@26

lint: $(INSTALLED)
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench
	$(BIN)/mypy

bench: $(INSTALLED)
	$(BIN)/python -m bench.check_plans
	$(BIN)/python -m bench.build_site
	$(BIN)/python -m bench.england

schema: $(INSTALLED)
	$(BIN)/publisher schema --out plans/schema

# The settings table in docs/configuration.md, from publisher/settings.py (a test fails while
# it is stale).
docs: $(INSTALLED)
	$(BIN)/python -m publisher.settings docs/configuration.md

# The lock again from pyproject.toml, keeping every version that still fits (after adding or
# changing a dependency there).
lock: $(INSTALLED)
	$(BIN)/pip-compile --quiet --only-build-deps --all-build-deps -o requirements/build.txt pyproject.toml
	$(BIN)/pip-compile --quiet -o requirements/run.txt pyproject.toml
	$(BIN)/pip-compile --quiet --extra dev -o requirements/dev.txt pyproject.toml

# Every dependency at its newest release that pyproject.toml allows, installed afresh, then
# the whole suite. docs/dependencies.md says how often, and what to look at.
upgrade: $(INSTALLED)
	$(BIN)/pip-compile --quiet --upgrade --only-build-deps --all-build-deps -o requirements/build.txt pyproject.toml
	$(BIN)/pip-compile --quiet --upgrade -o requirements/run.txt pyproject.toml
	$(BIN)/pip-compile --quiet --upgrade --extra dev -o requirements/dev.txt pyproject.toml
	git diff --stat -- requirements/
	$(MAKE) test

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
