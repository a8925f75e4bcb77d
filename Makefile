# One command per chore; README.md and .ci/run use these same commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

TOOLS := .tools
VNU := $(TOOLS)/node_modules/vnu-jar/build/dist/vnu.jar

.PHONY: run test lint tools bench schema clean

# Create the virtual environment and install the publisher with its test tools.
$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The main job on the example plans: check them, then build the site into feeds/.
run: $(INSTALLED)
	$(BIN)/publisher check plans
	$(BIN)/publisher build --plans plans --out feeds

# Everything CI runs: lint, types, and the whole test suite.
test: lint tools
	$(BIN)/python -m pytest -q

# What the page tests use besides Python: headless Chromium (Debian's package), Java for
# the Nu HTML checker, and the checker itself (vnu-jar, from the npm registry).
tools: $(VNU)
	@command -v chromium >/dev/null || { echo "Installing chromium (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v java >/dev/null || { echo "Installing Java (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; }

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

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
