# Two commands for a newcomer: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts pytest docs bench lock clean i18n

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The protocol and example verdicts, then the trial service in demo mode on http://127.0.0.1:$${PORT:-8000}
# (SQLite under ./var/ unless TRIALKIT_DATABASE_URL says otherwise): the first start seeds the demo
# SOR trial in progress; the calendar date is its data cut-off unless TRIALKIT_CALENDAR_DATE is set.
# DEMO_OPTIONS="--scenario null --seed 7" draws another demo (on an empty database).
run: $(STAMP)
	$(BIN)/trialkit demo
	TRIALKIT_DEMO=1 $(BIN)/trialkit db upgrade
	TRIALKIT_DEMO=1 $(BIN)/trialkit serve --demo --workers 2 $(DEMO_OPTIONS)

test: $(STAMP) lint typecheck contracts docs pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# The suite on every core, in at most 4 worker processes (pytest-xdist); PYTEST_WORKERS=0 runs it in
# this process alone. Each worker has its own databases and folders.
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --maxprocesses 4

# The documentation site (docs/, mkdocs.yml) into site/; --strict fails on a broken link or page.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The service benchmark (needs PostgreSQL; see benchmarks/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_service.py

# Re-pin every dependency to what is installed in .venv now (run after changing pyproject.toml);
# pins of extras not installed here (gpu: numba-cuda) are kept (tools/lock_constraints.py).
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable \
		| $(BIN)/python tools/lock_constraints.py constraints.txt pyproject.toml > constraints.txt.new
	mv constraints.txt.new constraints.txt

# Extract the pages' messages, update the catalogues and compile them (after changing UI text).
LOCALES := src/trialkit/service/platform/pages/locale
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header -o $(LOCALES)/messages.pot .
	test -f $(LOCALES)/en/LC_MESSAGES/messages.po || $(BIN)/pybabel init -i $(LOCALES)/messages.pot -d $(LOCALES) -l en
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -l en --no-fuzzy-matching
	$(BIN)/python tools/fill_english_catalogue.py $(LOCALES)/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile -d $(LOCALES) -l en

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site
